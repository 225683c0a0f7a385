/**
 * What kind of binary is this `.node` file? dlopen's own messages are poor guides: a Mach-O or PE
 * file and random bytes all give "invalid ELF header", and an arm64 binary on x64 gives "cannot open
 * shared object file: No such file or directory" although the file exists (research
 * failures-and-ports.md §1b, N2–N6). The header says what the file really is:
 *
 * - ELF: magic 7f 'E' 'L' 'F'; byte 4 = class (1: 32-bit, 2: 64-bit); byte 5 = byte order;
 *   e_machine (2 bytes) at offset 18. A musl build links `libc.musl-<arch>.so.1`, a glibc build
 *   names `libc.so.6` / `GLIBC_` symbol versions.
 * - Mach-O: fe ed fa ce/cf (or byte-swapped), cputype at offset 4; universal: ca fe ba be.
 * - PE (Windows DLL): 'MZ', the PE header offset at 0x3c, Machine after 'PE\0\0'.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type BinaryFormat = 'elf' | 'mach-o' | 'pe' | 'unknown';

export interface NativeBinaryInfo {
  format: BinaryFormat;
  /** File size in bytes. */
  size: number;
  /** Word size, when the header says. */
  bits?: 32 | 64;
  /** The CPU as Node names it (process.arch: 'x64', 'arm64', 'arm', 'ia32'…), when known. */
  arch?: string;
  /** The header's own machine name ('x86-64', 'aarch64', 'ARM'…), for messages. */
  machine?: string;
  /** For ELF: which C library it links, when the bytes say. */
  libc?: 'glibc' | 'musl';
  /** The first bytes in hex, for a file that is no binary at all. */
  magicHex: string;
}

/** ELF e_machine values → [process.arch, name]. */
const ELF_MACHINES: Readonly<Record<number, readonly [string, string]>> = {
  3: ['ia32', 'x86 (i386)'],
  8: ['mips', 'MIPS'],
  20: ['ppc', 'PowerPC'],
  21: ['ppc64', 'PowerPC64'],
  22: ['s390x', 's390'],
  40: ['arm', 'ARM'],
  62: ['x64', 'x86-64'],
  183: ['arm64', 'aarch64'],
  243: ['riscv64', 'RISC-V'],
  258: ['loong64', 'LoongArch'],
};

/** Mach-O cputype → [process.arch, name]. */
const MACHO_CPUS: Readonly<Record<number, readonly [string, string]>> = {
  7: ['ia32', 'i386'],
  0x01000007: ['x64', 'x86_64'],
  12: ['arm', 'arm'],
  0x0100000c: ['arm64', 'arm64'],
};

/** PE Machine → [process.arch, name, word size]. */
const PE_MACHINES: Readonly<Record<number, readonly [string, string, 32 | 64]>> = {
  0x14c: ['ia32', 'i386', 32],
  0x8664: ['x64', 'x86-64', 64],
  0x1c4: ['arm', 'ARMv7', 32],
  0xaa64: ['arm64', 'ARM64', 64],
};

/** Word size of each process.arch value doctor knows. */
export const ARCH_BITS: Readonly<Record<string, 32 | 64>> = {
  ia32: 32,
  arm: 32,
  mips: 32,
  ppc: 32,
  x64: 64,
  arm64: 64,
  ppc64: 64,
  s390x: 64,
  riscv64: 64,
  loong64: 64,
};

/** Reads at most this much of a file to look for the libc marker (prebuilt bcrypt is ~100 KB). */
const MAX_SCAN_BYTES = 16 * 1024 * 1024;

/** Describes the binary in `bytes` (the whole file, or at least its first 4 KB). */
export function describeNativeBinary(bytes: Buffer, size = bytes.length): NativeBinaryInfo {
  const magicHex = bytes.subarray(0, 8).toString('hex');
  const base = { size, magicHex };
  if (bytes.length >= 20 && bytes[0] === 0x7f && bytes.toString('latin1', 1, 4) === 'ELF') {
    const bits = bytes[4] === 1 ? 32 : bytes[4] === 2 ? 64 : undefined;
    const machineCode = bytes[5] === 2 ? bytes.readUInt16BE(18) : bytes.readUInt16LE(18);
    const known = ELF_MACHINES[machineCode];
    const text = bytes.toString('latin1');
    const libc = text.includes('libc.musl') ? 'musl' : text.includes('GLIBC_') || text.includes('libc.so.6') ? 'glibc' : undefined;
    return {
      format: 'elf',
      ...base,
      ...(bits === undefined ? {} : { bits }),
      ...(known === undefined ? { machine: `e_machine ${machineCode}` } : { arch: known[0], machine: known[1] }),
      ...(libc === undefined ? {} : { libc }),
    };
  }
  if (bytes.length >= 8) {
    const be = bytes.readUInt32BE(0);
    if (be === 0xcafebabe) return { format: 'mach-o', ...base, machine: 'universal (fat) binary' };
    const littleEndian = be === 0xcefaedfe || be === 0xcffaedfe;
    if (littleEndian || be === 0xfeedface || be === 0xfeedfacf) {
      const bits = be === 0xcffaedfe || be === 0xfeedfacf ? 64 : 32;
      const cpu = littleEndian ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
      const known = MACHO_CPUS[cpu];
      return {
        format: 'mach-o',
        ...base,
        bits,
        ...(known === undefined ? { machine: `cputype ${cpu}` } : { arch: known[0], machine: known[1] }),
      };
    }
  }
  if (bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a) {
    const peOffset = bytes.length >= 0x40 ? bytes.readUInt32LE(0x3c) : -1;
    if (peOffset > 0 && peOffset + 6 <= bytes.length && bytes.toString('latin1', peOffset, peOffset + 4) === 'PE\0\0') {
      const machineCode = bytes.readUInt16LE(peOffset + 4);
      const known = PE_MACHINES[machineCode];
      return {
        format: 'pe',
        ...base,
        ...(known === undefined ? { machine: `machine 0x${machineCode.toString(16)}` } : { arch: known[0], machine: known[1], bits: known[2] }),
      };
    }
    return { format: 'pe', ...base };
  }
  return { format: 'unknown', ...base };
}

/**
 * The first `maxBytes` of a file and its whole size; null when it cannot be opened or read. Shared by
 * the binary-header check and the shebang reader (src/doctor/executables.ts).
 */
export function readFileHead(path: string, maxBytes: number): { bytes: Buffer; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    let read = 0;
    // Bounded: each pass reads at least one byte or stops.
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: buffer.subarray(0, read), size };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Reads and describes a binary file; null when it cannot be read. */
export function readNativeBinary(path: string): NativeBinaryInfo | null {
  const head = readFileHead(path, MAX_SCAN_BYTES);
  return head === null ? null : describeNativeBinary(head.bytes, head.size);
}

/** "a macOS binary (Mach-O 64-bit x86_64)", "a 32-bit Linux binary (ELF ARM)"… */
export function describeBinaryInWords(info: NativeBinaryInfo): string {
  const bits = info.bits === undefined ? '' : `${info.bits}-bit `;
  const machine = info.machine === undefined ? '' : ` ${info.machine}`;
  switch (info.format) {
    case 'elf':
      return `a ${bits}Linux binary (ELF${machine}${info.libc === undefined ? '' : `, ${info.libc}`})`;
    case 'mach-o':
      return `a macOS binary (Mach-O ${bits}${machine.trim()})`.replace(/ \)$/, ')');
    case 'pe':
      return `a Windows DLL (PE${machine})`;
    case 'unknown':
      return info.size === 0
        ? 'an empty file'
        : `not a native binary at all (${info.size} bytes starting ${info.magicHex}: a corrupt or truncated file)`;
  }
}
