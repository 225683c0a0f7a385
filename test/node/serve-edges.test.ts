/**
 * naija-sup/node's listen helpers on their less common paths (src/node/listen.ts, serve.ts): the
 * process environment as the default, listening on every interface, the hint for each listen
 * error, an IPv6 address in the description, the default logger, and listen failures that carry
 * no code or come from a handed-over fd. Real binds are on 127.0.0.1 / ::1 only; the others go to
 * a server whose listen() is replaced.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listenHint, listenOn, resolveListenTarget } from '../../src/node/listen.js';
import { serve } from '../../src/node/serve.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A server whose listen() records its arguments, then reports `outcome` ('listening' or an error). */
function scriptedServer(outcome: 'listening' | unknown): Server & { calls: unknown[][] } {
  const server: Server = createServer();
  const calls: unknown[][] = [];
  server.listen = ((...args: unknown[]) => {
    calls.push(args);
    queueMicrotask(() => (outcome === 'listening' ? server.emit('listening') : server.emit('error', outcome)));
    return server;
  }) as Server['listen'];
  return Object.assign(server, { calls });
}

const quiet = { emitter: new EventEmitter(), exit: vi.fn(), log: false as const };

describe('resolveListenTarget', () => {
  it('reads the process environment when none is given', () => {
    vi.stubEnv('LISTEN_FDS', '');
    vi.stubEnv('PORT', '4321');
    vi.stubEnv('HOST', '127.0.0.1');
    expect(resolveListenTarget()).toEqual({ target: { kind: 'tcp', host: '127.0.0.1', port: 4321 }, notes: [] });
  });
});

describe('listenOn', () => {
  it('listens on every interface when no host is given, and on the host when one is', async () => {
    const everywhere = scriptedServer('listening');
    await listenOn(everywhere, { kind: 'tcp', host: undefined, port: 4000 });
    expect(everywhere.calls).toEqual([[4000]]);
    const loopback = scriptedServer('listening');
    await listenOn(loopback, { kind: 'tcp', host: '127.0.0.1', port: 4000 });
    expect(loopback.calls).toEqual([[4000, '127.0.0.1']]);
  });
});

describe('listenHint', () => {
  it('says what to do for each listen error it knows, and nothing for others', () => {
    const tcp = { kind: 'tcp' as const, host: '10.9.9.9', port: 80 };
    expect(listenHint('EACCES', tcp)).toBe('ports below 1024 need privileges: choose a PORT from 1024 up');
    expect(listenHint('EADDRNOTAVAIL', tcp)).toBe('HOST=10.9.9.9 is not an address of this machine: use 127.0.0.1, ::1 or 0.0.0.0');
    expect(listenHint('EADDRNOTAVAIL', { kind: 'tcp', host: undefined, port: 80 })).toBe('HOST= is not an address of this machine: use 127.0.0.1, ::1 or 0.0.0.0');
    expect(listenHint('EMFILE', tcp)).toBeUndefined();
    expect(listenHint(undefined, tcp)).toBeUndefined();
    expect(listenHint('EBADF', { kind: 'fd', fd: 3 })).toBe(
      'fd 3 must be a bound TCP socket handed over by the supervisor (LISTEN_FDS=1); unset LISTEN_FDS to bind PORT instead',
    );
  });
});

describe('serve', () => {
  it('describes an IPv6 address in brackets', async () => {
    const server = createServer();
    const serving = await serve(server, { ...quiet, env: { HOST: '::1', PORT: '0' } });
    cleanups.push(async () => {
      serving.drain.dispose();
      await new Promise((resolve) => server.close(resolve));
    });
    expect(serving.description).toBe(`listening on http://[::1]:${serving.address.port}`);
    expect(serving.fd).toBeNull();
  });

  it('writes its notes to stderr by default', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
      writes.push(String(text));
      return true;
    });
    const server = createServer();
    const serving = await serve(server, { emitter: new EventEmitter(), exit: vi.fn(), env: { LISTEN_FDS: 'abc', HOST: '127.0.0.1', PORT: '0' } });
    cleanups.push(async () => {
      serving.drain.dispose();
      await new Promise((resolve) => server.close(resolve));
    });
    expect(writes).toEqual(['naija-sup/node: LISTEN_FDS="abc" is not a number of file descriptors; ignoring it and binding PORT\n']);
  });

  it('names every interface, and passes on a failure that is not an Error and has no code', async () => {
    const server = scriptedServer('the kernel said no');
    const error = (await serve(server, { ...quiet, env: {} }).catch((e: unknown) => e)) as Error & { code?: string; fix?: string };
    expect(error.message).toBe('cannot listen on (every interface):3000: the kernel said no');
    expect(error.code).toBeUndefined();
    expect(error.fix).toBeUndefined();
  });

  it('names the handed-over fd when listening on it fails, with what to do', async () => {
    const env: Record<string, string | undefined> = { LISTEN_FDS: '1', LISTEN_PID: String(process.pid) };
    const server = scriptedServer(Object.assign(new Error('bad file descriptor'), { code: 'EBADF' }));
    const error = (await serve(server, { ...quiet, env }).catch((e: unknown) => e)) as Error & { code?: string; fix?: string };
    expect(server.calls).toEqual([[{ fd: 3 }]]);
    expect(error.message).toBe('cannot listen on inherited fd 3: bad file descriptor');
    expect(error.code).toBe('EBADF');
    expect(error.fix).toContain('fd 3 must be a bound TCP socket');
    // The variables are gone either way: a child must not take the socket for its own.
    expect(env).toEqual({});
  });
});
