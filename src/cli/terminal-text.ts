/**
 * The server's output made safe to show on a terminal (issue 15, "output is safe to show"). A
 * server — or whoever can make it log a request path — controls the bytes of its output; printed
 * as is, an escape sequence can retitle the terminal, rewrite earlier lines (hiding a warning),
 * plant a clickable link, or on some terminals answer back as if typed. Escape sequences (CSI,
 * OSC, and the other ESC forms) are removed — colours are lost, nothing else — and every other
 * control character, the bidi overrides included, is shown escaped (`\x07`, `\u202e`). `--raw`
 * prints the bytes unchanged, for a user who trusts them.
 */

/** CSI (ESC [ or 0x9b … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings, and 2-byte ESC forms. */
const ESCAPE_SEQUENCE = new RegExp(
  [
    '(?:\\u001b\\[|\\u009b)[0-?]*[ -/]*[@-~]',
    '(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])[^\\u0007\\u001b\\u009c]*(?:\\u0007|\\u001b\\\\|\\u009c)?',
    '\\u001b[ -/]*[0-~]',
  ].join('|'),
  'g',
);

/** Control characters (tab excepted), DEL, C1, and the Unicode bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const HAS_CONTROL = new RegExp(CONTROL.source);

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with escape sequences removed and other control characters shown escaped. */
export function terminalSafe(text: string): string {
  // A cheap test first: most lines have none.
  if (!HAS_CONTROL.test(text)) return text;
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, escapeChar);
}
