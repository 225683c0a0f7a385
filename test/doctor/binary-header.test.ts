/** Header reading against bcrypt 6's real prebuilt binaries (and non-binaries). */
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeBinaryInWords, describeNativeBinary, readNativeBinary } from '../../src/doctor/binary-header.js';
import { prebuild } from './helpers.js';

describe('readNativeBinary', () => {
  it.each([
    ['linux-x64/bcrypt.glibc.node', { format: 'elf', bits: 64, arch: 'x64', machine: 'x86-64', libc: 'glibc' }],
    ['linux-x64/bcrypt.musl.node', { format: 'elf', bits: 64, arch: 'x64', libc: 'musl' }],
    ['linux-arm64/bcrypt.glibc.node', { format: 'elf', bits: 64, arch: 'arm64', machine: 'aarch64' }],
    ['linux-arm/bcrypt.glibc.node', { format: 'elf', bits: 32, arch: 'arm', machine: 'ARM' }],
    ['darwin-x64/bcrypt.node', { format: 'mach-o', bits: 64, arch: 'x64', machine: 'x86_64' }],
    ['darwin-arm64/bcrypt.node', { format: 'mach-o', bits: 64, arch: 'arm64' }],
    ['win32-x64/bcrypt.node', { format: 'pe', bits: 64, arch: 'x64', machine: 'x86-64' }],
    ['win32-arm64/bcrypt.node', { format: 'pe', arch: 'arm64' }],
  ] as const)('%s', (file, expected) => {
    expect(readNativeBinary(prebuild(file))).toMatchObject(expected);
  });

  it('describes them in words', () => {
    const words = (file: string): string => describeBinaryInWords(readNativeBinary(prebuild(file)) ?? describeNativeBinary(Buffer.alloc(0)));
    expect(words('darwin-x64/bcrypt.node')).toBe('a macOS binary (Mach-O 64-bit x86_64)');
    expect(words('win32-x64/bcrypt.node')).toBe('a Windows DLL (PE x86-64)');
    expect(words('linux-arm/bcrypt.glibc.node')).toBe('a 32-bit Linux binary (ELF ARM, glibc)');
  });

  it('garbage, empty and missing files', () => {
    expect(describeNativeBinary(Buffer.from('hello world, not a binary'))).toMatchObject({ format: 'unknown', magicHex: '68656c6c6f20776f' });
    expect(describeBinaryInWords(describeNativeBinary(Buffer.alloc(0)))).toBe('an empty file');
    expect(readNativeBinary('/nonexistent/bcrypt.node')).toBeNull();
  });
});

describe('describeNativeBinary on headers no bcrypt prebuild has', () => {
  /** An ELF header: class (1 = 32-bit, 2 = 64-bit), data (1 = little, 2 = big endian), e_machine. */
  function elf(elfClass: number, data: number, machine: number, tail = ''): Buffer {
    const head = Buffer.alloc(64);
    head.write('\x7fELF', 0, 'latin1');
    head[4] = elfClass;
    head[5] = data;
    if (data === 2) head.writeUInt16BE(machine, 18);
    else head.writeUInt16LE(machine, 18);
    return Buffer.concat([head, Buffer.from(tail, 'latin1')]);
  }

  it('ELF: big-endian PowerPC, an unknown machine, an odd class, no libc marker', () => {
    expect(describeNativeBinary(elf(1, 2, 20))).toEqual({ format: 'elf', size: 64, magicHex: '7f454c4601020000', bits: 32, arch: 'ppc', machine: 'PowerPC' });
    expect(describeBinaryInWords(describeNativeBinary(elf(2, 1, 62)))).toBe('a 64-bit Linux binary (ELF x86-64)');
    const odd = describeNativeBinary(elf(9, 1, 0x1234, 'libc.so.6'));
    expect(odd).toMatchObject({ format: 'elf', machine: 'e_machine 4660', libc: 'glibc' });
    expect(odd.bits).toBeUndefined();
    expect(describeBinaryInWords(odd)).toBe('a Linux binary (ELF e_machine 4660, glibc)');
  });

  it('Mach-O: a universal binary, a 32-bit big-endian one with an unknown CPU', () => {
    const fat = describeNativeBinary(Buffer.from('cafebabe00000002', 'hex'));
    expect(fat).toMatchObject({ format: 'mach-o', machine: 'universal (fat) binary' });
    expect(describeBinaryInWords(fat)).toBe('a macOS binary (Mach-O universal (fat) binary)');
    const ppc = describeNativeBinary(Buffer.from('feedface00000012', 'hex'));
    expect(ppc).toMatchObject({ format: 'mach-o', bits: 32, machine: 'cputype 18' });
    expect(ppc.arch).toBeUndefined();
    const i386 = describeNativeBinary(Buffer.from('cefaedfe07000000', 'hex'));
    expect(describeBinaryInWords(i386)).toBe('a macOS binary (Mach-O 32-bit i386)');
  });

  it('PE: an MZ stub without a PE header, a PE for an unknown machine, a 32-bit one', () => {
    const stub = describeNativeBinary(Buffer.from('MZ this is a DOS program', 'latin1'));
    expect(stub).toEqual({ format: 'pe', size: 24, magicHex: Buffer.from('MZ this ', 'latin1').toString('hex') });
    expect(describeBinaryInWords(stub)).toBe('a Windows DLL (PE)');
    const pe = (machine: number): Buffer => {
      const bytes = Buffer.alloc(0x50);
      bytes.write('MZ', 0, 'latin1');
      bytes.writeUInt32LE(0x40, 0x3c);
      bytes.write('PE\0\0', 0x40, 'latin1');
      bytes.writeUInt16LE(machine, 0x44);
      return bytes;
    };
    expect(describeNativeBinary(pe(0x5064))).toMatchObject({ format: 'pe', machine: 'machine 0x5064' });
    expect(describeNativeBinary(pe(0x5064)).bits).toBeUndefined();
    expect(describeNativeBinary(pe(0x14c))).toMatchObject({ format: 'pe', arch: 'ia32', bits: 32 });
  });

  it('a directory is not a readable binary', () => {
    expect(readNativeBinary(tmpdir())).toBeNull();
  });
});
