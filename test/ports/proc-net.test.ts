import { describe, expect, it } from 'vitest';
import { decodeHexAddress, formatIPv6, parseProcNetTcp, parseProcNetTcpForPort } from '../../src/ports/proc-net.js';
import { capturedTcp, capturedTcp6, CAPTURED } from './fixtures/fake-proc.js';

describe('decodeHexAddress', () => {
  it('reads IPv4 words little-endian', () => {
    expect(decodeHexAddress('0100007F', 4, 'LE')).toBe('127.0.0.1');
    expect(decodeHexAddress('00000000', 4, 'LE')).toBe('0.0.0.0');
    expect(decodeHexAddress('020200C0', 4, 'LE')).toBe('192.0.2.2');
  });

  it('reads IPv6 as four little-endian 32-bit words', () => {
    expect(decodeHexAddress('00000000000000000000000000000000', 6, 'LE')).toBe('::');
    expect(decodeHexAddress('00000000000000000000000001000000', 6, 'LE')).toBe('::1');
    expect(decodeHexAddress('0000000000000000FFFF00000100007F', 6, 'LE')).toBe('::ffff:127.0.0.1');
    expect(decodeHexAddress('000000FD000000000000000002000000', 6, 'LE')).toBe('fd00::2');
    expect(decodeHexAddress('000080FE00000000FF00FC00010000FE', 6, 'LE')).toBe('fe80::fc:ff:fe00:1');
  });

  it('reads big-endian text (s390x) without reversing', () => {
    expect(decodeHexAddress('7F000001', 4, 'BE')).toBe('127.0.0.1');
    expect(decodeHexAddress('00000000000000000000000000000001', 6, 'BE')).toBe('::1');
  });

  it('rejects text of the wrong length or with non-hex digits', () => {
    expect(decodeHexAddress('0100007', 4, 'LE')).toBeUndefined();
    expect(decodeHexAddress('0100007G', 4, 'LE')).toBeUndefined();
    expect(decodeHexAddress('0100007F', 6, 'LE')).toBeUndefined();
  });
});

describe('formatIPv6', () => {
  const bytes = (...groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);

  it('compresses the longest zero run, the first one on a tie, and never a single zero group', () => {
    expect(formatIPv6(bytes(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(bytes(0x2001, 0xdb8, 0, 0, 0, 1, 0, 0))).toBe('2001:db8::1:0:0');
    expect(formatIPv6(bytes(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6(bytes(1, 0, 0, 0, 0, 0, 0, 0))).toBe('1::');
    expect(formatIPv6(bytes(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
  });

  it('prints IPv4-mapped addresses in dotted form, as Node does', () => {
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7])).toBe('::ffff:10.0.0.7');
  });

  it('throws on a wrong byte count', () => {
    expect(() => formatIPv6([0, 0, 0, 1])).toThrow(RangeError);
  });
});

describe('parseProcNetTcp on captured /proc/net/tcp', () => {
  const rows = parseProcNetTcp(capturedTcp(), 4, { endianness: 'LE' });

  it('skips the header and reads every socket line', () => {
    expect(rows).toHaveLength(16);
    expect(rows.every((row) => row.family === 4)).toBe(true);
  });

  it('reads LISTEN rows on 0.0.0.0 and 127.0.0.1 with uid and inode', () => {
    expect(rows.find((row) => row.inode === CAPTURED.any4.inode)).toEqual({
      family: 4,
      localAddress: '0.0.0.0',
      localPort: CAPTURED.any4.port,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 'LISTEN',
      stateCode: 10,
      uid: 0,
      inode: CAPTURED.any4.inode,
    });
    const lo = rows.find((row) => row.inode === CAPTURED.lo4.inode);
    expect(lo).toMatchObject({ localAddress: '127.0.0.1', localPort: CAPTURED.lo4.port, state: 'LISTEN' });
    expect(rows.find((row) => row.inode === CAPTURED.nobody4.inode)).toMatchObject({
      localAddress: '127.0.0.1',
      localPort: CAPTURED.nobody4.port,
      uid: 65534,
    });
  });

  it('reads TIME_WAIT rows with uid 0 and inode 0', () => {
    const timeWait = rows.filter((row) => row.localPort === CAPTURED.timeWait4.port);
    expect(timeWait).toHaveLength(2);
    for (const row of timeWait) {
      expect(row).toMatchObject({ state: 'TIME_WAIT', stateCode: 6, uid: 0, inode: 0, localAddress: '127.0.0.1' });
    }
  });

  it('reads both ends of an ESTABLISHED connection', () => {
    const client = rows.find((row) => row.inode === CAPTURED.lo4.clientInode);
    const accepted = rows.find((row) => row.inode === CAPTURED.lo4.acceptedInode);
    expect(client).toMatchObject({ state: 'ESTABLISHED', remotePort: CAPTURED.lo4.port, localPort: 60514 });
    expect(accepted).toMatchObject({ state: 'ESTABLISHED', localPort: CAPTURED.lo4.port, remotePort: 60514 });
  });
});

describe('parseProcNetTcp on captured /proc/net/tcp6', () => {
  const rows = parseProcNetTcp(capturedTcp6(), 6, { endianness: 'LE' });
  const listening = (inode: number) => rows.find((row) => row.inode === inode && row.state === 'LISTEN');

  it('prints every kind of IPv6 listener address', () => {
    expect(rows).toHaveLength(17);
    expect(listening(CAPTURED.dual.inode)).toMatchObject({ localAddress: '::', localPort: CAPTURED.dual.port });
    expect(listening(CAPTURED.lo6.inode)).toMatchObject({ localAddress: '::1', localPort: CAPTURED.lo6.port });
    expect(listening(CAPTURED.mapped.inode)).toMatchObject({
      localAddress: '::ffff:127.0.0.1',
      localPort: CAPTURED.mapped.port,
    });
    expect(listening(CAPTURED.eth6.inode)).toMatchObject({ localAddress: 'fd00::2', localPort: CAPTURED.eth6.port });
    expect(listening(CAPTURED.nobody6.inode)).toMatchObject({ localAddress: '::', uid: 65534 });
  });

  it('shows an IPv4 client of a dual-stack listener as an IPv4-mapped accepted socket', () => {
    const accepted = rows.find((row) => row.inode === CAPTURED.dual.acceptedInodes[0]);
    expect(accepted).toMatchObject({
      localAddress: '::ffff:127.0.0.1',
      localPort: CAPTURED.dual.port,
      remoteAddress: '::ffff:127.0.0.1',
      state: 'ESTABLISHED',
    });
  });

  it('reads IPv6 and IPv4-mapped TIME_WAIT rows', () => {
    const timeWait = rows.filter((row) => row.localPort === CAPTURED.timeWait6.port);
    expect(timeWait.map((row) => [row.localAddress, row.state, row.inode]).sort()).toEqual([
      ['::1', 'TIME_WAIT', 0],
      ['::ffff:127.0.0.1', 'TIME_WAIT', 0],
    ]);
  });
});

describe('parseProcNetTcp robustness', () => {
  it('ignores blank, truncated and malformed lines instead of throwing', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0',
      '   1: 0100007F:1F9',
      '   2: ZZZZZZZZ:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     x        0 1 1',
    ].join('\n');
    expect(parseProcNetTcp(text, 4, { endianness: 'LE' })).toEqual([
      expect.objectContaining({ localAddress: '127.0.0.1', localPort: 8080, uid: 1000, inode: 4242, state: 'LISTEN' }),
    ]);
  });

  it('names every kernel state and keeps unknown codes', () => {
    const line = (st: string) =>
      `   0: 0100007F:1F90 0100007F:D431 ${st} 00000000:00000000 00:00000000 00000000     0        0 7 1`;
    const states = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '0A', '0B', '0C', '3F'].map(
      (st) => parseProcNetTcp(line(st), 4, { endianness: 'LE' })[0]?.state,
    );
    expect(states).toEqual([
      'ESTABLISHED',
      'SYN_SENT',
      'SYN_RECV',
      'FIN_WAIT1',
      'FIN_WAIT2',
      'TIME_WAIT',
      'CLOSE',
      'CLOSE_WAIT',
      'LAST_ACK',
      'LISTEN',
      'CLOSING',
      'NEW_SYN_RECV',
      'UNKNOWN',
    ]);
  });

  it('returns nothing for an empty file (IPv6 disabled, or no sockets)', () => {
    expect(parseProcNetTcp('', 6)).toEqual([]);
  });
});

describe('parseProcNetTcpForPort', () => {
  const full = (text: string, family: 4 | 6, port: number) =>
    parseProcNetTcp(text, family, { endianness: 'LE' }).filter((row) => row.localPort === port);

  it('returns exactly the rows of that local port, for every port in the captured tables', () => {
    for (const [text, family] of [[capturedTcp(), 4], [capturedTcp6(), 6]] as const) {
      const ports = new Set(parseProcNetTcp(text, family, { endianness: 'LE' }).flatMap((row) => [row.localPort, row.remotePort]));
      expect(ports.size).toBeGreaterThan(3);
      for (const port of ports) {
        expect(parseProcNetTcpForPort(text, family, port, { endianness: 'LE' }), `port ${port}`).toEqual(full(text, family, port));
      }
    }
  });

  it('skips a row whose REMOTE port is the port, and finds the last line without a newline', () => {
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
    const line = (n: number, local: string, remote: string, st: string, inode: number): string =>
      `   ${n}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
    const text = [
      header,
      line(0, '0100007F:1F90', '00000000:0000', '0A', 11), // LISTEN 127.0.0.1:8080
      line(1, '0100007F:C350', '0100007F:1F90', '01', 12), // a client's side, remote port 8080
      line(2, '0100007F:1F90', '0100007F:C350', '01', 13), // the server's side
    ].join('\n');
    const rows = parseProcNetTcpForPort(text, 4, 8080, { endianness: 'LE' });
    expect(rows.map((row) => [row.state, row.inode])).toEqual([['LISTEN', 11], ['ESTABLISHED', 13]]);
    expect(parseProcNetTcpForPort(text, 4, 50000, { endianness: 'LE' }).map((row) => row.inode)).toEqual([12]);
    expect(parseProcNetTcpForPort(text, 4, 9999, { endianness: 'LE' })).toEqual([]);
  });

  it('finds ports below 4096 (fewer than four hex digits, zero-padded in the file) and ports with hex letters', () => {
    // The kernel writes every port as four upper-case hex digits: 22 is "0016", 443 "01BB".
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
    const ports = [1, 22, 80, 443, 4095, 4096, 0xabcd, 65535];
    const text = [header, ...ports.map((port, n) => {
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      return `   ${n}: 0100007F:${hex} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${100 + n} 1 0000000000000000 100 0 0 10 0`;
    })].join('\n');
    expect(text).toContain('0100007F:0016 ');
    expect(text).toContain('0100007F:01BB ');
    for (const [n, port] of ports.entries()) {
      expect(parseProcNetTcpForPort(text, 4, port, { endianness: 'LE' }).map((row) => [row.localPort, row.inode]), `port ${port}`).toEqual([[port, 100 + n]]);
    }
    // A port is never found by a suffix of another's digits: 0x16 (22) is not 0x116 (278).
    expect(parseProcNetTcpForPort(text, 4, 0x116, { endianness: 'LE' })).toEqual([]);
  });
});

describe('the parsers at their edges', () => {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  // The ten columns the parser reads, and nothing after them: the inode ends the line.
  const row = (sl: string, local: string, remote: string, inode: number) =>
    `${sl} ${local} ${remote} 0A 00000000:00000000 00:00000000 00000000  1000        0 ${inode}`;

  it('reads a row of exactly ten columns, to the last digit of its inode, also as the last line without a newline', () => {
    const text = [header, row('0:', '0100007F:1F90', '00000000:0000', 4242)].join('\n');
    expect(parseProcNetTcp(text, 4, { endianness: 'LE' }).map((r) => r.inode)).toEqual([4242]);
    expect(parseProcNetTcpForPort(text, 4, 8080, { endianness: 'LE' }).map((r) => r.inode)).toEqual([4242]);
  });

  it('skips rows whose slot, local or remote endpoint is malformed', () => {
    const text = [
      header,
      row('x1:', '0100007F:1F90', '00000000:0000', 1),
      row('1:x', '0100007F:1F90', '00000000:0000', 2),
      row('2:', '0100007F', '00000000:0000', 3),
      row('3:', '0100007F:1F9', '00000000:0000', 4),
      row('4:', '0100007F:1F900', '00000000:0000', 5),
      row('5:', '0100007F:1FG0', '00000000:0000', 6),
      row('6:', '0100007F:1F90', '00000000', 7),
      row('7:', '0100007F:1F90', 'G0000000:0000', 8),
      row('8:', 'G100007F:1F90', '00000000:0000', 9),
      row('9:', '0100007F:1F90', '00000000:0000', 10),
    ].join('\n');
    expect(parseProcNetTcp(text, 4, { endianness: 'LE' }).map((r) => r.inode)).toEqual([10]);
    expect(parseProcNetTcpForPort(text, 4, 8080, { endianness: 'LE' }).map((r) => r.inode)).toEqual([10]);
  });

  it('keeps only rows whose LOCAL port is the port, even when the needle is in the remote column', () => {
    const text = [header, row('0:', '0100007F:C350', '0100007F:1F90', 1), row('1:', '0100007F:1F90', '00000000:0000', 2), ''].join('\n');
    expect(parseProcNetTcpForPort(text, 4, 8080, { endianness: 'LE' }).map((r) => r.inode)).toEqual([2]);
  });

  it('honours the byte order it is given, over this machine\'s', () => {
    const text = [header, row('0:', '7F000001:1F90', '00000000:0000', 1)].join('\n');
    expect(parseProcNetTcp(text, 4, { endianness: 'BE' })[0]?.localAddress).toBe('127.0.0.1');
    expect(parseProcNetTcpForPort(text, 4, 8080, { endianness: 'BE' })[0]?.localAddress).toBe('127.0.0.1');
    expect(parseProcNetTcp(text, 4, { endianness: 'LE' })[0]?.localAddress).toBe('1.0.0.127');
  });

  it('decodeHexAddress refuses anything but hex digits of the right length', () => {
    expect(decodeHexAddress('G100007F', 4, 'LE')).toBeUndefined();
    expect(decodeHexAddress('0100007G', 4, 'LE')).toBeUndefined();
    expect(decodeHexAddress('0100007F', 4, 'LE')).toBe('127.0.0.1');
  });

  it('formatIPv6: only ::ffff:0:0/96 is IPv4-mapped, and it needs 16 bytes', () => {
    const v6 = (...bytes: number[]) => formatIPv6(bytes);
    expect(v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1)).toBe('::ffff:127.0.0.1');
    expect(v6(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1)).toBe('2001:db8::ffff:7f00:1');
    expect(v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xff, 127, 0, 0, 1)).toBe('::ff:7f00:1');
    expect(v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 127, 0, 0, 1)).toBe('::ff00:7f00:1');
    expect(() => formatIPv6([127, 0, 0, 1])).toThrow(new RangeError('an IPv6 address has 16 bytes, got 4'));
  });
});
