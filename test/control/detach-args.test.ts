import { describe, expect, it } from 'vitest';
import { backgroundArgs, configArg, supervisorNodeFlags } from '../../src/cli/detach.js';

describe('the arguments of a detached start', () => {
  it('are those of start minus -d/--detach, and never touch the server command after --', () => {
    expect(backgroundArgs(['start', '-d', '--port', '3000'])).toEqual(['start', '--port', '3000']);
    expect(backgroundArgs(['--detach', '-c', 'x.json'])).toEqual(['start', '-c', 'x.json']);
    expect(backgroundArgs(['start', '-d', '--', 'node', 'server.js', '-d', '--detach'])).toEqual(['start', '--', 'node', 'server.js', '-d', '--detach']);
  });

  it('name the config file however it was given', () => {
    expect(configArg(['start', '-c', 'a.json'])).toBe('a.json');
    expect(configArg(['start', '--config', 'b.json', '-d'])).toBe('b.json');
    expect(configArg(['start', '--config=c.json'])).toBe('c.json');
    expect(configArg(['start', '-cd.json'])).toBe('d.json');
    expect(configArg(['start', '--', 'node', '-c', 'nope.json'])).toBeUndefined();
    expect(configArg(['start', '-d'])).toBeUndefined();
  });

  it('give the resident supervisor small semi-spaces, unless NODE_OPTIONS chose its own', () => {
    expect(supervisorNodeFlags({})).toEqual(['--max-semi-space-size=1', '--max-old-space-size=256']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--enable-source-maps' })).toEqual(['--max-semi-space-size=1', '--max-old-space-size=256']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=8' })).toEqual(['--max-old-space-size=256']);
    expect(supervisorNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=64' })).toEqual([]);
  });
});
