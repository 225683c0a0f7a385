// What a Node upgrade that changed the internal looks like to the user: a NaijaSupError that names
// the problem and the way out, never a TypeError from deep inside. node:net is mocked in this file
// only (vi.mock is hoisted and file-scoped).
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

const { checkHandoffSupport, createHandoffListener } = await import('../../src/reload/handoff.js');
const { NaijaSupError } = await import('../../src/errors.js');

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('when net._createServerHandle changed', () => {
  it('is missing: checkHandoffSupport says so and createHandoffListener throws E_INTERNAL pointing to mode "proxy"', () => {
    internal.value = undefined;
    expect(checkHandoffSupport()).toEqual({ ok: false, reason: expect.stringContaining('net._createServerHandle is missing') });
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 0 }));
    expect(error).toBeInstanceOf(NaijaSupError);
    expect(error).toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('Socket handoff is not supported by this Node.js') });
    expect((error as InstanceType<typeof NaijaSupError>).fix).toContain('mode: proxy');
  });

  it('takes fewer parameters', () => {
    internal.value = (address: string) => address;
    expect(checkHandoffSupport()).toMatchObject({ ok: false, reason: expect.stringContaining('takes 1 parameters') });
  });

  it('returns something that is not a TCP handle', () => {
    internal.value = (_address: string, _port: number, _type: number) => ({ fd: 3 });
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 0 }));
    expect(error).toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('instead of a TCP handle') });
  });

  it('returns a handle without a file descriptor (and that handle is closed)', () => {
    const close = vi.fn();
    internal.value = (_address: string, _port: number, _type: number) => ({
      fd: -1,
      getsockname: (out: { port?: number }) => {
        out.port = 40_000;
        return 0;
      },
      close,
    });
    const error = caught(() => createHandoffListener({ host: '127.0.0.1', port: 0 }));
    expect(error).toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('no file descriptor') });
    expect(close).toHaveBeenCalledOnce();
  });
});
