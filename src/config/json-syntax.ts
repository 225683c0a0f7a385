/**
 * Where a JSON text goes wrong. JSON.parse's messages carry a position only for some errors
 * ("Unexpected token '}', … is not valid JSON" has none), and a config syntax error must name its
 * line, so load.ts asks this small scanner for the offset of the first error.
 */

/**
 * Offset of the first JSON syntax error in `text` (the length when the text ends early), or
 * undefined if it is valid.
 */
export function jsonErrorOffset(text: string): number | undefined {
  const scanner = new JsonScanner(text);
  try {
    scanner.value();
    scanner.ws();
    if (scanner.i < text.length) scanner.stop();
    return undefined;
  } catch (error) {
    if (error instanceof JsonStop) return error.offset;
    // Nesting deep enough to overflow the stack: no position, but still a syntax error.
    return undefined;
  }
}

class JsonStop {
  constructor(readonly offset: number) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A recursive-descent walk over JSON that only advances `i`; the first error throws JsonStop with
 * the offset. Objects and arrays are walked inside value() itself (one stack frame per nesting
 * level, as few as the grammar allows).
 */
class JsonScanner {
  i = 0;

  constructor(private readonly text: string) {}

  stop(): never {
    throw new JsonStop(this.i);
  }

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i] as string)) this.i += 1;
  }

  value(): void {
    const { text } = this;
    this.ws();
    const c = text[this.i];
    if (c === '{') {
      this.i += 1;
      this.ws();
      if (text[this.i] === '}') {
        this.i += 1;
        return;
      }
      for (;;) {
        this.ws();
        if (text[this.i] !== '"') this.stop();
        this.string();
        this.ws();
        if (text[this.i] !== ':') this.stop();
        this.i += 1;
        this.value();
        this.ws();
        if (text[this.i] === ',') this.i += 1;
        else if (text[this.i] === '}') {
          this.i += 1;
          return;
        } else this.stop();
      }
    } else if (c === '[') {
      this.i += 1;
      this.ws();
      if (text[this.i] === ']') {
        this.i += 1;
        return;
      }
      for (;;) {
        this.value();
        this.ws();
        if (text[this.i] === ',') this.i += 1;
        else if (text[this.i] === ']') {
          this.i += 1;
          return;
        } else this.stop();
      }
    } else if (c === '"') {
      this.string();
    } else {
      this.literal();
    }
  }

  private string(): void {
    const { text } = this;
    this.i += 1;
    for (;;) {
      const c = text[this.i];
      if (c === undefined) this.stop();
      else if (c === '"') {
        this.i += 1;
        return;
      } else if (c === '\\') {
        const next = text[this.i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) this.i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(this.i + 2, this.i + 6))) this.i += 6;
        else {
          this.i += 1;
          this.stop();
        }
      } else if (c.charCodeAt(0) < 0x20) this.stop();
      else this.i += 1;
    }
  }

  /** true, false, null or a number. */
  private literal(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    NUMBER.lastIndex = this.i;
    const match = NUMBER.exec(this.text);
    if (match === null) this.stop();
    else this.i += match[0].length;
  }
}
