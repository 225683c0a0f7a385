/** naija-sup/node's listen side: where to listen (LISTEN_FDS / LISTEN_PID / PORT / HOST) and serve()'s errors. */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clearListenEnv, resolveListenTarget } from '../../src/node/listen.js';
import { serve } from '../../src/node/serve.js';

describe('resolveListenTarget', () => {
  const pid = 4242;

  it('binds PORT/HOST without LISTEN_FDS (or with LISTEN_FDS=0); options win; 3000 and every interface by default', () => {
    expect(resolveListenTarget({ pid, env: { PORT: '8000', HOST: '127.0.0.1' } })).toEqual({ target: { kind: 'tcp', host: '127.0.0.1', port: 8000 }, notes: [] });
    expect(resolveListenTarget({ pid, env: { LISTEN_FDS: '0', PORT: '8000' } }).target).toEqual({ kind: 'tcp', host: undefined, port: 8000 });
    expect(resolveListenTarget({ pid, env: { PORT: '8000' }, port: 9000, host: '::1' }).target).toEqual({ kind: 'tcp', host: '::1', port: 9000 });
    expect(resolveListenTarget({ pid, env: {} }).target).toEqual({ kind: 'tcp', host: undefined, port: 3000 });
  });

  it('uses fd 3 when LISTEN_PID is absent or names this process', () => {
    expect(resolveListenTarget({ pid, env: { LISTEN_FDS: '1', PORT: '8000' } })).toEqual({ target: { kind: 'fd', fd: 3 }, notes: [] });
    expect(resolveListenTarget({ pid, env: { LISTEN_FDS: '1', LISTEN_PID: '4242' } }).target).toEqual({ kind: 'fd', fd: 3 });
  });

  it('ignores LISTEN_FDS meant for another process or not a number, and says so; notes extra descriptors', () => {
    const other = resolveListenTarget({ pid, env: { LISTEN_FDS: '1', LISTEN_PID: '1', PORT: '8000' } });
    expect(other.target).toEqual({ kind: 'tcp', host: undefined, port: 8000 });
    expect(other.notes).toEqual(['LISTEN_FDS ignored: LISTEN_PID=1 names another process (this is pid 4242); binding PORT']);
    expect(resolveListenTarget({ pid, env: { LISTEN_FDS: 'three' } }).notes).toEqual(['LISTEN_FDS="three" is not a number of file descriptors; ignoring it and binding PORT']);
    const many = resolveListenTarget({ pid, env: { LISTEN_FDS: '2' } });
    expect(many.target).toEqual({ kind: 'fd', fd: 3 });
    expect(many.notes).toEqual(['LISTEN_FDS=2: listening on fd 3 only; the other descriptors are unused']);
  });

  it('refuses a PORT or port option that is not a port, saying what to do', () => {
    expect(() => resolveListenTarget({ pid, env: { PORT: 'eighty' } })).toThrow('naija-sup/node: PORT="eighty" is not a port number (0–65535); set PORT to one, or unset it to use 3000');
    expect(() => resolveListenTarget({ pid, env: { PORT: '70000' } })).toThrow(/PORT="70000" is not a port number/);
    expect(() => resolveListenTarget({ pid, env: {}, port: 1.5 })).toThrow('naija-sup/node: options.port must be an integer from 0 to 65535, got 1.5');
  });

  it('clears the socket-activation variables so that child processes do not inherit them', () => {
    const env: Record<string, string | undefined> = { LISTEN_FDS: '1', LISTEN_PID: '7', LISTEN_FDNAMES: 'http', PATH: '/bin' };
    clearListenEnv(env);
    expect(env).toEqual({ PATH: '/bin' });
  });
});

describe('serve', () => {
  it('listens on PORT from the given environment and removes LISTEN_* from it', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const env: Record<string, string | undefined> = { PORT: '0', HOST: '127.0.0.1', LISTEN_FDS: '1', LISTEN_PID: '1' };
    const notes: string[] = [];
    const serving = await serve(server, { env, log: (line, level) => notes.push(`${level}: ${line}`), emitter: new EventEmitter() });
    try {
      expect(serving.fd).toBeNull();
      expect(serving.address.address).toBe('127.0.0.1');
      expect(serving.description).toBe(`listening on http://127.0.0.1:${serving.address.port}`);
      expect(env).toEqual({ PORT: '0', HOST: '127.0.0.1' });
      expect(notes).toEqual([`warn: LISTEN_FDS ignored: LISTEN_PID=1 names another process (this is pid ${process.pid}); binding PORT`]);
    } finally {
      serving.drain.dispose();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects with the listen error, its code and a fix when the port is taken, and leaves no signal handler', async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    const before = process.listenerCount('SIGTERM');
    try {
      const error = (await serve(createServer(), { port, host: '127.0.0.1', env: {}, log: false }).catch((e: unknown) => e)) as Error & { code?: string; fix?: string };
      expect(error.message).toBe(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
      expect(error.code).toBe('EADDRINUSE');
      expect(error.fix).toMatch(new RegExp(`^another process holds port ${port}: find it with \`naija-sup doctor\``));
      expect(process.listenerCount('SIGTERM')).toBe(before);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
