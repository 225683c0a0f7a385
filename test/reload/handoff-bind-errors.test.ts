// createHandoffListener's messages for every way the bind can fail (src/reload/handoff.ts), and
// for the odd things a changed Node internal could hand back. libuv reports the bind error through
// getsockname; here a scripted handle does, since most of these cannot be provoked as root on
// loopback. node:net is mocked in this file only (vi.mock is hoisted and file-scoped).
import { describe, expect, it, vi } from 'vitest';

const internal = vi.hoisted(() => ({ value: undefined as unknown }));

vi.mock('node:net', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:net')>();
  return {
    ...original,
    get _createServerHandle() {
      return internal.value;
    },
  };
});

const { createHandoffListener } = await import('../../src/reload/handoff.js');
const { NaijaSupError } = await import('../../src/errors.js');

function caught(fn: () => unknown): InstanceType<typeof NaijaSupError> {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NaijaSupError);
    return error as InstanceType<typeof NaijaSupError>;
  }
  throw new Error('expected createHandoffListener to throw');
}

/** A handle whose getsockname returns `status` (a negative errno) or reports `port`. */
function scripted(status: number, port = 40_000): { close: ReturnType<typeof vi.fn> } {
  const close = vi.fn();
  internal.value = (_address: string, _port: number, _type: number) => ({
    fd: 20,
    getsockname: (out: { port?: number }) => {
      out.port = port;
      return status;
    },
    close,
  });
  return { close };
}

describe('createHandoffListener bind errors', () => {
  it('names a port in use on an IPv6 address in brackets, and closes the handle', () => {
    const { close } = scripted(-98);
    const error = caught(() => createHandoffListener({ host: '::1', port: 8000 }));
    expect(error).toMatchObject({ code: 'E_PORT_IN_USE', message: 'Cannot bind [::1]:8000 for socket handoff: the port is in use (EADDRINUSE).' });
    expect(close).toHaveBeenCalledOnce();
  });

  it('says a privileged port needs privileges', () => {
    scripted(-13);
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 80 }));
    expect(error).toMatchObject({ code: 'E_USAGE', message: 'Cannot bind 127.0.0.1:80 for socket handoff: permission denied (EACCES).' });
    expect(error.fix).toBe('Ports below 1024 need privileges: choose a port from 1024 up.');
  });

  it('says an address that is not this machine is not one of its addresses', () => {
    scripted(-99);
    const error = caught(() => createHandoffListener({ host: '10.255.255.1', port: 8000 }));
    expect(error).toMatchObject({
      code: 'E_USAGE',
      message: 'Cannot bind 10.255.255.1:8000 for socket handoff: 10.255.255.1 is not an address of this machine (EADDRNOTAVAIL).',
    });
    expect(error.fix).toBe('Use 127.0.0.1, ::1, 0.0.0.0 or ::.');
  });

  it('passes any other error on by name, or by number when the system has no name for it', () => {
    scripted(-24);
    expect(caught(() => createHandoffListener({ host: '127.0.0.1', port: 8000 })).message).toBe('Cannot bind 127.0.0.1:8000 for socket handoff: EMFILE.');
    scripted(7);
    expect(caught(() => createHandoffListener({ host: '127.0.0.1', port: 8000 })).message).toBe('Cannot bind 127.0.0.1:8000 for socket handoff: error 7.');
  });

  it('refuses a handle bound to another port than the one asked for, closing it', () => {
    const { close } = scripted(0, 9999);
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 8000 }));
    expect(error).toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('reports port 9999 after binding 127.0.0.1:8000') as string });
    expect(close).toHaveBeenCalledOnce();
  });
});

describe('what a changed internal returns instead of a TCP handle', () => {
  it('takes a number for the errno of a failed bind, as Node returns one', () => {
    internal.value = (_address: string, _port: number, _type: number) => -98;
    expect(caught(() => createHandoffListener({ host: '127.0.0.1', port: 8000 })).code).toBe('E_PORT_IN_USE');
  });

  it.each([
    [null, 'null'],
    ['fd 3', 'string'],
    [Object.create(null) as object, 'an object (no constructor)'],
    [new Map(), 'an object (Map)'],
  ])('%o is described as %s', (value, described) => {
    internal.value = (_address: string, _port: number, _type: number) => value;
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 0 }));
    expect(error.code).toBe('E_INTERNAL');
    expect(error.message).toContain(`net._createServerHandle returned ${described} instead of a TCP handle`);
  });
});
