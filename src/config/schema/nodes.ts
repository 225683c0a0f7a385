/**
 * The node types of the configuration schema: what a leaf, a section and an alias are, what a
 * parser returns, and what it may look at. Types only, so that every other schema module can
 * import them without an import circle. `InferResolved` and `InferInput` read a tree's resolved
 * and file forms off these types; src/config/schema.ts checks them against ResolvedConfig and
 * UserConfig at compile time.
 */

/** One thing wrong with a value. `at` extends the key's path: "" for the value itself, ".timeout", "[2]". */
export interface Problem {
  at: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Where a raw value came from. Relative paths resolve differently per layer. */
export type ConfigLayer = 'file' | 'env' | 'flag';

/** What defaults and parsers may look at besides the raw value. */
export interface ResolveContext {
  /** The config file's directory, or null without a file. */
  configDir: string | null;
  /** The directory naija-sup runs in: relative paths from flags and the environment start here. */
  invocationCwd: string;
  /** The resolved `cwd` (resolved before every other key). */
  appCwd: string;
  /** The `name` field of `dir`/package.json, or null. */
  packageNameOf(dir: string): string | null;
  /** A value resolved earlier (schema order, `cwd` first). */
  resolved(path: string): unknown;
  /** Whether a key resolved earlier was given by the user (a flag, the environment or the file), not defaulted. */
  isSet(path: string): boolean;
}

export interface ParseContext extends ResolveContext {
  layer: ConfigLayer;
}

export type DefaultSpec<T> =
  | { kind: 'value'; value: T }
  | { kind: 'computed'; /** For the docs: what the default is. */ text: string; compute(ctx: ResolveContext): T };

/** A legacy (unprefixed) environment variable for a leaf, like PORT or GRACEFUL_TIMEOUT. */
export interface LegacyEnvVar {
  name: string;
  /** Shown in the reference, e.g. "seconds". */
  note?: string;
  /** Decodes the variable when it differs from the leaf's own `fromEnv` (seconds → ms). */
  decode?(raw: string): ParseResult<unknown>;
}

/** A JSON Schema fragment. */
export type JsonSchema = Record<string, unknown>;

/**
 * A configuration key. `In` is what a file may hold, `Out` the resolved value.
 */
export interface LeafNode<In = unknown, Out = unknown> {
  readonly kind: 'leaf';
  readonly description: string;
  /** The type as the reference shows it: "duration", "integer ≥ 0", `"http" | "tcp"`. */
  readonly typeText: string;
  /** JSON Schema of the file form, without description and default (added from this node). */
  readonly jsonSchema: JsonSchema;
  readonly default: DefaultSpec<Out>;
  readonly legacyEnv: readonly LegacyEnvVar[];
  /** How the `NAIJA_SUP_*` twin is written when it is not plain text ("JSON", "comma-separated"). */
  readonly envForm?: string;
  /** Decodes an environment string into a raw value for `parse` (numbers, booleans, JSON…). */
  fromEnv(raw: string): ParseResult<unknown>;
  /** Validates a raw value and converts it to its resolved form. */
  parse(raw: unknown, ctx: ParseContext): ParseResult<Out>;
  /** The value as a user would write it (durations as "5s"), for docs, JSON Schema defaults and printing. */
  toInput(value: Out): unknown;
  /** For an object-valued key (health.liveness): its fields, for the docs and the JSON Schema. */
  readonly fields?: Readonly<Record<string, LeafNode>>;
  /** How the docs show the default when the value alone would mislead (the command's [] is "none"). */
  readonly defaultLabel?: string;
  /** Never set: carries `In` for type inference. */
  readonly _input?: In;
}

export interface AnySection {
  readonly kind: 'section';
  readonly description: string;
  readonly children: Readonly<Record<string, SchemaNode>>;
}

export interface SectionNode<C extends Readonly<Record<string, SchemaNode>>> extends AnySection {
  readonly children: C;
}

/**
 * Another spelling of some leaves of the same section, as one object: `health.startup: {type: "tcp"}`
 * sets `health.type`. It has no resolved value of its own (ResolvedConfig has no such key): its
 * fields are the names of sibling leaves, each parsed by that leaf, and where a file gives both
 * spellings of a field the alias wins. It exists only in files (no environment variable of its
 * own: the siblings' variables cover each field).
 */
export interface AliasNode<K extends string = string> {
  readonly kind: 'alias';
  readonly description: string;
  /** The sibling leaves it spells, in document order. */
  readonly keys: readonly K[];
}

export type SchemaNode = LeafNode | AnySection | AliasNode;

/** The resolved form of a node. An alias has no resolved value: it is left out of the resolved form. */
export type InferResolved<N> = N extends LeafNode<unknown, infer O>
  ? O
  : N extends SectionNode<infer C>
    ? { -readonly [K in keyof C as C[K] extends AliasNode ? never : K]: InferResolved<C[K]> }
    : never;

/** The file form of a node. An alias's file form is an object of its siblings' file forms. */
export type InferInput<N> = N extends LeafNode<infer I, unknown>
  ? I
  : N extends SectionNode<infer C>
    ? { -readonly [K in keyof C]?: C[K] extends AliasNode<infer F> ? { -readonly [P in F & keyof C]?: InferInput<C[P]> } : InferInput<C[K]> }
    : never;
