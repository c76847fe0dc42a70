/**
 * Loader of an uncompressed ELF64 x86-64 Linux `vmlinux` into guest RAM, with its 64-bit entry
 * and the Xen PVH 32-bit entry from the `XEN_ELFNOTE_PHYS32_ENTRY` note.
 *
 * @module
 */

import { hex, sizeText, u64, viewOf } from "./_mem.ts";
import { type ImageSource, readRange, toSource } from "./image_source.ts";

// ELF64 layout: the System V gABI "ELF Header", "Program Header" and "Sections" chapters, and
// the x86-64 psABI for EM_X86_64.

/** The ELF magic `7f 'E' 'L' 'F'` at e_ident[0..3]. */
export const ELF_MAGIC: readonly number[] = [0x7f, 0x45, 0x4c, 0x46];
/** e_ident[EI_CLASS] offset; ELFCLASS64 = 2. */
export const EI_CLASS = 4;
/** ELFCLASS64: 64-bit objects. */
export const ELFCLASS64 = 2;
/** e_ident[EI_DATA] offset; ELFDATA2LSB = 1. */
export const EI_DATA = 5;
/** ELFDATA2LSB: little-endian. */
export const ELFDATA2LSB = 1;
/** ET_EXEC: an executable file (Linux links vmlinux as one). */
export const ET_EXEC = 2;
/** EM_X86_64: AMD x86-64 (psABI). */
export const EM_X86_64 = 62;
/** Size of the ELF64 header. */
export const ELF64_EHDR_SIZE = 64;
/** Size of an ELF64 program header. */
export const ELF64_PHDR_SIZE = 56;
/** Size of an ELF64 section header. */
export const ELF64_SHDR_SIZE = 64;

// Elf64_Ehdr field offsets.
const E_TYPE = 0x10;
const E_MACHINE = 0x12;
const E_ENTRY = 0x18;
const E_PHOFF = 0x20;
const E_SHOFF = 0x28;
const E_PHENTSIZE = 0x36;
const E_PHNUM = 0x38;
const E_SHENTSIZE = 0x3a;
const E_SHNUM = 0x3c;

// Elf64_Phdr field offsets.
const P_TYPE = 0x00;
const P_FLAGS = 0x04;
const P_OFFSET = 0x08;
const P_VADDR = 0x10;
const P_PADDR = 0x18;
const P_FILESZ = 0x20;
const P_MEMSZ = 0x28;

// Elf64_Shdr field offsets.
const SH_TYPE = 0x04;
const SH_OFFSET = 0x18;
const SH_SIZE = 0x20;

/** p_type PT_LOAD: a loadable segment. */
export const PT_LOAD = 1;
/** p_type PT_NOTE: a segment of notes. */
export const PT_NOTE = 4;
/** sh_type SHT_NOTE: a section of notes. */
export const SHT_NOTE = 7;
/** p_flags PF_X: the segment is executable. */
export const PF_X = 1;

/** Note name of the Xen notes (`"Xen\0"`), xen/include/public/elfnote.h. */
export const XEN_NOTE_NAME = "Xen";
/**
 * XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h): physical address of the PVH 32-bit
 * entry point; Linux emits it as a pointer-sized (u64 on x86-64, u32 in old kernels) value.
 */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** A vmlinux loaded into guest RAM. */
export interface ElfKernel {
  /** Which loader produced it. */
  kind: "elf";
  /** Guest-physical address of `startup_64`, the 64-bit entry (RSI = boot_params). */
  entry64: number;
  /** Guest-physical PVH 32-bit entry (EBX = hvm_start_info), when the kernel has the note. */
  pvhEntry?: number;
  /** First guest-physical address past every PT_LOAD segment (p_paddr + p_memsz). */
  loadEnd: number;
}

interface Segment {
  index: number;
  type: number;
  flags: number;
  offset: number;
  /** p_vaddr as a BigInt: kernel-virtual addresses (0xffffffff8…) are above 2^53. */
  vaddr: bigint;
  paddr: number;
  filesz: number;
  memsz: number;
}

/** Whether `bytes` starts with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/** The ELF header and the program headers of a vmlinux. */
interface Headers {
  /** The ELF header's bytes (up to {@link ELF64_EHDR_SIZE}). */
  ehdr: Uint8Array;
  segments: Segment[];
}

/** Checks the ELF header of an x86-64 vmlinux and returns it with its program headers. */
function readHeaders(source: ImageSource): Headers {
  const bytes = readRange(source, 0, ELF64_EHDR_SIZE);
  if (!isElf(bytes)) throw new Error("not an ELF file (no 7f 45 4c 46 magic)");
  if (bytes.length < ELF64_EHDR_SIZE) {
    throw new Error(
      `truncated ELF: the file is ${source.length} bytes, the ELF64 header needs ${ELF64_EHDR_SIZE}`,
    );
  }
  if (bytes[EI_CLASS] !== ELFCLASS64) {
    throw new Error(`not a 64-bit ELF (EI_CLASS ${bytes[EI_CLASS]}, expected ${ELFCLASS64})`);
  }
  if (bytes[EI_DATA] !== ELFDATA2LSB) {
    throw new Error(`not a little-endian ELF (EI_DATA ${bytes[EI_DATA]}, expected 1)`);
  }
  const view = viewOf(bytes);
  const machine = view.getUint16(E_MACHINE, true);
  if (machine !== EM_X86_64) {
    throw new Error(`ELF machine is ${machine}, expected EM_X86_64 (${EM_X86_64})`);
  }
  const type = view.getUint16(E_TYPE, true);
  if (type !== ET_EXEC) throw new Error(`ELF type is ${type}, expected ET_EXEC (${ET_EXEC})`);
  const phoff = u64(view, E_PHOFF, "ELF e_phoff");
  const phentsize = view.getUint16(E_PHENTSIZE, true);
  const phnum = view.getUint16(E_PHNUM, true);
  if (phentsize < ELF64_PHDR_SIZE) {
    throw new Error(`ELF program header size is ${phentsize}, expected ${ELF64_PHDR_SIZE}`);
  }
  const table = readRange(source, phoff, phnum * phentsize);
  const phdrs = viewOf(table);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    if (at + ELF64_PHDR_SIZE > table.length) {
      throw new Error(`truncated ELF: program header ${i} lies past the end of the file`);
    }
    segments.push({
      index: i,
      type: phdrs.getUint32(at + P_TYPE, true),
      flags: phdrs.getUint32(at + P_FLAGS, true),
      offset: u64(phdrs, at + P_OFFSET, `ELF segment ${i} p_offset`),
      vaddr: phdrs.getBigUint64(at + P_VADDR, true),
      paddr: u64(phdrs, at + P_PADDR, `ELF segment ${i} p_paddr`),
      filesz: u64(phdrs, at + P_FILESZ, `ELF segment ${i} p_filesz`),
      memsz: u64(phdrs, at + P_MEMSZ, `ELF segment ${i} p_memsz`),
    });
  }
  return { ehdr: bytes, segments };
}

/**
 * Physical address of the ELF entry point. Linux links `vmlinux` with `ENTRY(phys_startup_64)`,
 * so e_entry is already physical; other images give a virtual entry. Tried in order: an
 * executable PT_LOAD whose virtual range holds e_entry (translated e_entry − p_vaddr + p_paddr),
 * a PT_LOAD whose physical range holds it (taken as is), any PT_LOAD whose virtual range holds it.
 */
function physicalEntry(ehdr: Uint8Array, loads: Segment[]): number {
  const entry = viewOf(ehdr).getBigUint64(E_ENTRY, true);
  const inVirtual = (s: Segment) => entry >= s.vaddr && entry < s.vaddr + BigInt(s.memsz);
  const inPhysical = (s: Segment) => entry >= BigInt(s.paddr) && entry < BigInt(s.paddr + s.memsz);
  const exec = loads.find((s) => (s.flags & PF_X) !== 0 && inVirtual(s));
  if (exec) return exec.paddr + Number(entry - exec.vaddr);
  if (loads.some(inPhysical)) return Number(entry);
  const any = loads.find(inVirtual);
  if (any) return any.paddr + Number(entry - any.vaddr);
  throw new Error(`ELF entry point 0x${entry.toString(16)} lies in no PT_LOAD segment`);
}

/**
 * Finds XEN_ELFNOTE_PHYS32_ENTRY in the PT_NOTE segments, else in the SHT_NOTE sections, and
 * returns the PVH entry (a 32-bit physical address) or undefined.
 */
export function findPvhEntry(image: Uint8Array | ImageSource): number | undefined {
  const source = toSource(image);
  return pvhEntryOf(source, readHeaders(source));
}

/** {@link findPvhEntry} on headers already read. */
function pvhEntryOf(source: ImageSource, { ehdr, segments }: Headers): number | undefined {
  for (const s of segments) {
    if (s.type !== PT_NOTE) continue;
    const found = scanNotes(source, s.offset, s.filesz);
    if (found !== undefined) return found;
  }
  const view = viewOf(ehdr);
  const shoff = u64(view, E_SHOFF, "ELF e_shoff");
  const shentsize = view.getUint16(E_SHENTSIZE, true);
  const shnum = view.getUint16(E_SHNUM, true);
  if (shoff === 0 || shentsize < ELF64_SHDR_SIZE) return undefined;
  const table = readRange(source, shoff, shnum * shentsize);
  const shdrs = viewOf(table);
  for (let i = 0; i < shnum; i++) {
    const at = i * shentsize;
    if (at + ELF64_SHDR_SIZE > table.length) {
      throw new Error(`truncated ELF: section header ${i} lies past the end of the file`);
    }
    if (shdrs.getUint32(at + SH_TYPE, true) !== SHT_NOTE) continue;
    const offset = u64(shdrs, at + SH_OFFSET, `ELF section ${i} sh_offset`);
    const size = u64(shdrs, at + SH_SIZE, `ELF section ${i} sh_size`);
    const found = scanNotes(source, offset, size);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Segments must start at or above this (1 MiB): below it are LINUX_LAYOUT's boot structures. */
const BOOT_AREA_END = 0x100000;

/**
 * Whether the note name at `bytes[at, at + size)` is `name` (ASCII), ignoring trailing NULs.
 * Compared byte by byte: a TextDecoder per note cost ~5 ms each under an emulated CPU (the nested
 * test host), ~0.1 s for a Debian kernel's notes.
 */
function isName(bytes: Uint8Array, at: number, size: number, name: string): boolean {
  let length = size;
  while (length > 0 && bytes[at + length - 1] === 0) length--;
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) {
    if (bytes[at + i] !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Walks the notes in `[offset, offset + size)`: {namesz, descsz, type, name, desc}, 4-aligned. */
function scanNotes(source: ImageSource, offset: number, size: number): number | undefined {
  if (offset + size > source.length) {
    throw new Error(`truncated ELF: notes at ${hex(offset)}+${hex(size)} lie past the end`);
  }
  const bytes = readRange(source, offset, size);
  const view = viewOf(bytes);
  // Not `(n + 3) & ~3`: sizes are u32, and 32-bit bitwise maths turns those of 2 GiB and more
  // negative (a note could then point back at itself: an endless walk).
  const pad = (n: number) => Math.ceil(n / 4) * 4;
  const end = size;
  for (let at = 0; at + 12 <= end;) {
    const namesz = view.getUint32(at, true);
    const descsz = view.getUint32(at + 4, true);
    const type = view.getUint32(at + 8, true);
    const name = at + 12;
    const desc = name + pad(namesz);
    if (desc + descsz > end) break; // a malformed tail: no further notes can be read
    if (type === XEN_ELFNOTE_PHYS32_ENTRY && isName(bytes, name, namesz, XEN_NOTE_NAME)) {
      let entry: number;
      if (descsz === 4) entry = view.getUint32(desc, true);
      else if (descsz === 8) entry = u64(view, desc, "XEN_ELFNOTE_PHYS32_ENTRY");
      else throw new Error(`XEN_ELFNOTE_PHYS32_ENTRY has a ${descsz}-byte value, expected 4 or 8`);
      if (entry >= 2 ** 32) throw new Error(`PVH entry ${hex(entry)} is above 4 GiB`);
      return entry;
    }
    at = desc + pad(descsz);
  }
  return undefined;
}

/** Options of {@link loadElf} and `loadKernel`. */
export interface LoadOptions {
  /**
   * Guest RAM is known to be all zero (freshly mapped): the bytes past each segment's file bytes
   * (a Debian kernel's .bss and .brk, ~17 MiB) are left alone instead of written with zeros,
   * which would make the host allocate and clear every page of them before the guest needs them.
   */
  zeroed?: boolean;
}

/**
 * Loads an ELF64 x86-64 `vmlinux` (bytes or a {@link ImageSource}) into `memory` (guest RAM,
 * index = guest-physical address): each PT_LOAD's p_filesz bytes are copied to p_paddr and the
 * rest up to p_memsz is zeroed, unless `options.zeroed` says the RAM is all zero already.
 * Throws a one-line error for a malformed or truncated file or a segment outside guest RAM.
 */
export function loadElf(
  memory: Uint8Array,
  image: Uint8Array | ImageSource,
  options: LoadOptions = {},
): ElfKernel {
  const source = toSource(image);
  const headers = readHeaders(source);
  const loads = headers.segments.filter((s) => s.type === PT_LOAD && s.memsz > 0);
  if (loads.length === 0) throw new Error("ELF has no PT_LOAD segment");
  for (const s of loads) {
    if (s.filesz > s.memsz) {
      throw new Error(
        `ELF segment ${s.index} has p_filesz ${hex(s.filesz)} larger than p_memsz ${hex(s.memsz)}`,
      );
    }
    if (s.offset + s.filesz > source.length) {
      throw new Error(
        `truncated ELF: segment ${s.index} (file bytes ${hex(s.offset)}-${
          hex(s.offset + s.filesz)
        }) lies past the end of the file (${source.length} bytes)`,
      );
    }
    if (s.paddr < BOOT_AREA_END) {
      throw new Error(
        `ELF segment ${s.index} starts at ${hex(s.paddr)}, below 1 MiB, where microvmm puts ` +
          `the boot structures (zero page, page tables, command line, MP table)`,
      );
    }
    if (s.paddr + s.memsz > memory.length) {
      throw new Error(
        `kernel does not fit in guest RAM: ELF segment ${s.index} needs [${hex(s.paddr)}, ${
          hex(s.paddr + s.memsz)
        }), guest RAM is ${sizeText(memory.length)}`,
      );
    }
  }
  const entry64 = physicalEntry(headers.ehdr, loads);
  const pvhEntry = pvhEntryOf(source, headers);
  for (const s of loads) {
    // Straight from the source into guest RAM: no copy of the file in between.
    source.readInto(s.offset, memory.subarray(s.paddr, s.paddr + s.filesz));
    if (!options.zeroed) memory.fill(0, s.paddr + s.filesz, s.paddr + s.memsz);
  }
  const loadEnd = Math.max(...loads.map((s) => s.paddr + s.memsz));
  return pvhEntry === undefined
    ? { kind: "elf", entry64, loadEnd }
    : { kind: "elf", entry64, pvhEntry, loadEnd };
}
