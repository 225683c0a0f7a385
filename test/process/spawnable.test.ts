import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findExecutable, MAX_ARG_STRLEN, spawnProblem } from '../../src/process/spawnable.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'naija-sup-spawnable-'));
  dirs.push(d);
  return d;
}

describe('spawnProblem: what stands in the way of an exec, seen before trying', () => {
  const base = { command: [process.execPath, 'server.js'], cwd: tmpdir(), env: { PATH: process.env['PATH'] } };

  it('a command that can run: null', () => {
    expect(spawnProblem(base)).toBeNull();
    expect(spawnProblem({ ...base, command: ['node', 'server.js'] })).toBeNull();
  });

  it('names each problem', () => {
    expect(spawnProblem({ ...base, cwd: '/nonexistent/dir' })).toBe('working directory does not exist: /nonexistent/dir');
    expect(spawnProblem({ ...base, command: ['no-such-program-x'] })).toBe('command not found on PATH: no-such-program-x');
    expect(spawnProblem({ ...base, command: ['./bin/missing'] })).toBe('./bin/missing does not exist or is not executable');
    expect(spawnProblem({ ...base, command: [process.execPath, 'a\0b'] })).toBe('an argument of the command holds a NUL byte');
    expect(spawnProblem({ ...base, env: { ...base.env, NUL: 'a\0b' } })).toBe('the environment variable NUL holds a NUL byte');
    expect(spawnProblem({ ...base, env: { ...base.env, BIG: 'x'.repeat(MAX_ARG_STRLEN) } })).toBe('the environment variable BIG is 128 KiB; the kernel refuses one over 128 KiB (E2BIG)');
    expect(spawnProblem({ ...base, command: [process.execPath, 'x'.repeat(MAX_ARG_STRLEN)] })).toMatch(/E2BIG/);
  });

  it('just under the kernel limit is fine', () => {
    expect(spawnProblem({ ...base, env: { ...base.env, BIG: 'x'.repeat(MAX_ARG_STRLEN - 'BIG='.length - 1) } })).toBeNull();
  });
});

describe('findExecutable', () => {
  it('searches PATH (an empty entry is the working directory), and takes a path relative to cwd', () => {
    const d = dir();
    const prog = join(d, 'prog');
    writeFileSync(prog, '#!/bin/sh\n');
    expect(findExecutable('prog', d, `/nonexistent:${d}`)).toBeNull(); // not executable yet
    chmodSync(prog, 0o755);
    expect(findExecutable('prog', d, `/nonexistent:${d}`)).toBe(prog);
    expect(findExecutable('prog', d, '/nonexistent:')).toBe(prog);
    expect(findExecutable('./prog', d, '')).toBe(prog);
    expect(findExecutable(d, d, '')).toBeNull(); // a directory is not a program
  });
});
