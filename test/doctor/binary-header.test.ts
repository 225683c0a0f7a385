/** Header reading against bcrypt 6's real prebuilt binaries (and non-binaries). */
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
