import { describe, expect, it } from 'vitest';
import { joinCommand, ShellSplitError, splitCommand } from '../../src/config/shell-split.js';

describe('splitCommand', () => {
  it.each([
    ['node server.js', ['node', 'server.js']],
    ['  node \t server.js\n --port 80  ', ['node', 'server.js', '--port', '80']],
    ["python -c 'print(\"hi there\")'", ['python', '-c', 'print("hi there")']],
    ['echo "a \\"quoted\\" word"', ['echo', 'a "quoted" word']],
    ['echo "back\\\\slash \\$ \\` kept\\n"', ['echo', 'back\\slash $ ` kept\\n']],
    ["echo 'single \\ keeps \\n backslashes'", ['echo', 'single \\ keeps \\n backslashes']],
    ['my\\ server.js', ['my server.js']],
    ['a\\"b', ['a"b']],
    ["'a'\"b\"c", ['abc']],
    ["node '' x", ['node', '', 'x']],
    ['node ""', ['node', '']],
    ['node \\\n  server.js', ['node', 'server.js']],
    ['node server.js # start the api', ['node', 'server.js']],
    ['node a#b', ['node', 'a#b']],
    ["node '#not-a-comment'", ['node', '#not-a-comment']],
    ["uvicorn app:app --port '$PORT'", ['uvicorn', 'app:app', '--port', '$PORT']],
    ['echo \\$PORT', ['echo', '$PORT']],
    ['echo $ cost', ['echo', '$', 'cost']],
    ['node "multi\nline"', ['node', 'multi\nline']],
    ['', []],
    ['   ', []],
  ])('%j', (input, argv) => {
    expect(splitCommand(input)).toEqual(argv);
  });

  it.each([
    ["node 'server.js", /unterminated single quote \(opened at character 6\)/],
    ['node "server.js', /unterminated double quote/],
    ['node "a \\" b', /unterminated double quote/],
    ['node server.js\\', /trailing backslash/],
    ['node a.js | tee log', /"\|" is shell syntax, but no shell is run/],
    ['node a.js && node b.js', /"&" is shell syntax/],
    ['node a.js; echo done', /";" is shell syntax/],
    ['node a.js > out.log', /">" is shell syntax/],
    ['node a.js < in', /"<" is shell syntax/],
    ['(node a.js)', /"\(" is shell syntax/],
    ['uvicorn app:app --port $PORT', /"\$PORT" would be expanded by a shell/],
    ['node "${APP}"', /"\$\{APP\}" would be expanded/],
    ['node $(which app)', /"\$\(which app\)" would be expanded/],
    ['node `which app`', /command substitution/],
    ['node "`which app`"', /command substitution/],
  ])('rejects %j', (input, message) => {
    let caught: unknown;
    try {
      splitCommand(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ShellSplitError);
    expect((caught as ShellSplitError).message).toMatch(message);
  });

  it('reports where the problem is', () => {
    try {
      splitCommand('node a.js | tee');
      expect.unreachable('splitCommand should throw');
    } catch (error) {
      expect((error as ShellSplitError).index).toBe(10);
    }
  });
});

describe('joinCommand', () => {
  it('quotes only what needs quoting, and splits back to the same words', () => {
    const argv = ['node', 'my server.js', "it's", '', '--flag=a b', '$PORT', 'a"b', 'tab\there', 'x|y', '#c', 'plain-arg_1.2/x:y@z'];
    const line = joinCommand(argv);
    expect(line.startsWith("node 'my server.js' 'it'\\''s' '' ")).toBe(true);
    expect(line.endsWith(' plain-arg_1.2/x:y@z')).toBe(true);
    expect(splitCommand(line)).toEqual(argv);
  });
});
