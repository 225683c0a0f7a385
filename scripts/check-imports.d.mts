/** Types for scripts/check-imports.mjs, so its unit test (test/tools/check-imports.test.ts) is typed. */
export type ImportKind = 'static' | 'type' | 'dynamic';
export interface Token { t: 'id' | 'str' | 'num' | 'punct'; v: string }
export interface ImportGraph { modules: string[]; edges: Map<string, Map<string, string>>; unresolved?: string[] }

export function tokenize(src: string): Token[];
export function findImports(src: string): { specifier: string; kind: ImportKind }[];
export function buildGraph(root: string): Required<ImportGraph>;
export function stronglyConnected(nodes: string[], successors: (node: string) => Iterable<string>): string[][];
export function circlesIn(component: string[], successors: (node: string) => Iterable<string>): string[][];
export function checkGraph(graph: ImportGraph): { circles: { modules: string[]; chains: string[][] }[]; coreToCli: string[] };
export function formatCircle(chain: string[], edges: Map<string, Map<string, string>>): string;
