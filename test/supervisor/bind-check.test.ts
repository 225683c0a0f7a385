import { describe, expect, it } from 'vitest';
import { explainPortInUse, judgeListening, portInBindError } from '../../src/supervisor/bind-check.js';

const at = (address: string, port: number) => ({ address, port, endpoint: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}` });

describe('judgeListening', () => {
  const expected = { port: 8000, host: '127.0.0.1', privatePort: false };

  it('nothing listening yet is no finding', () => {
    expect(judgeListening([], expected)).toBeNull();
  });

  it.each([
    ['the host itself', at('127.0.0.1', 8000)],
    ['its IPv4-mapped form', at('::ffff:127.0.0.1', 8000)],
  ])('listening on the port and host (%s) is right', (_what, socket) => {
    expect(judgeListening([socket], expected)).toBeNull();
  });

  it('another port only: it ignores PORT, and the fix offers that port', () => {
    const finding = judgeListening([at('127.0.0.1', 3000), at('::1', 3000)], expected);
    expect(finding).toMatchObject({
      kind: 'other-port',
      message: 'the server listens on 127.0.0.1:3000, [::1]:3000, not on port 8000 (PORT=8000): it ignores PORT',
    });
    expect(finding?.fix).toMatch(/, or set port to 3000$/);
  });

  it('behind the proxy "set port" is no fix: the port is naija-sup\'s choice', () => {
    const finding = judgeListening([at('127.0.0.1', 3000)], { ...expected, privatePort: true });
    expect(finding?.fix).not.toContain('set port to');
    expect(finding?.fix).toContain('in proxy mode it must use the private port naija-sup passes');
  });

  it.each([['0.0.0.0'], ['::']])('a wildcard bind (%s) while host is 127.0.0.1: reachable from other machines', (address) => {
    const finding = judgeListening([at(address, 8000)], expected);
    expect(finding?.kind).toBe('other-host');
    expect(finding?.message).toContain('it is reachable from other machines too');
  });

  it('host 0.0.0.0 is served by either wildcard, localhost by either loopback', () => {
    expect(judgeListening([at('::', 8000)], { ...expected, host: '0.0.0.0' })).toBeNull();
    expect(judgeListening([at('::1', 8000)], { ...expected, host: 'localhost' })).toBeNull();
    expect(judgeListening([at('10.0.0.5', 8000)], { ...expected, host: 'localhost' })?.kind).toBe('other-host');
  });
});

describe('portInBindError and explainPortInUse', () => {
  it.each([
    ['Error: listen EADDRINUSE: address already in use :::3000', 3000],
    ['Error: listen EADDRINUSE: address already in use 127.0.0.1:8080', 8080],
    ["ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use", 8000],
    ['OSError: [Errno 98] Address already in use', null],
  ])('%s → %s', (line, port) => {
    expect(portInBindError(line)).toBe(port);
  });

  const conflict = (line: string) => ({ cause: 'port-in-use', summary: 'port 41000 is already in use', fix: 'free it', line });

  it('the instance\'s own port: unchanged', () => {
    const c = conflict('Error: listen EADDRINUSE: address already in use :::41000');
    expect(explainPortInUse(c, 41000, 8000)).toBe(c);
  });

  it('the proxy\'s public port: the server ignores PORT and took the public port', () => {
    const out = explainPortInUse(conflict('Error: listen EADDRINUSE: address already in use :::8000'), 41000, 8000);
    expect(out.summary).toBe('the server tried to bind port 8000 itself — the public port the proxy holds — instead of the private port in PORT (41000): it ignores PORT');
    expect(out.fix).toContain('or use mode "direct"');
  });

  it('some other port: it ignores PORT', () => {
    const out = explainPortInUse(conflict('Error: listen EADDRINUSE: address already in use :::3000'), 41000, undefined);
    expect(out.summary).toBe('port 3000 is already in use, and it is not the port naija-sup gave the server (PORT=41000): the server ignores PORT');
  });

  it('other causes and lines without a port are left alone', () => {
    const other = { cause: 'native-module', summary: 's', fix: 'f', line: ':3000' };
    expect(explainPortInUse(other, 41000, 8000)).toBe(other);
    const noPort = conflict('OSError: [Errno 98] Address already in use');
    expect(explainPortInUse(noPort, 41000, 8000)).toBe(noPort);
  });
});
