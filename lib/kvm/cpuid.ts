/**
 * CPUID entries (`struct kvm_cpuid2` + `kvm_cpuid_entry2`) as plain objects, and their codec.
 *
 * @module
 */

import { KVM_CPUID2, KVM_CPUID_ENTRY2 as ENTRY } from "./abi.ts";

/** One CPUID leaf (`function`) and subleaf (`index`) with its register values. */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

const REGISTERS = ["eax", "ebx", "ecx", "edx"] as const;

/** Encodes `entries` as a `kvm_cpuid2` buffer (nent = entries.length). */
export function encodeCpuid(entries: CpuidEntry[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(KVM_CPUID2.size + entries.length * ENTRY.size);
  const view = new DataView(bytes.buffer);
  view.setUint32(KVM_CPUID2.nent, entries.length, true);
  entries.forEach((entry, i) => {
    const at = KVM_CPUID2.entries + i * ENTRY.size;
    view.setUint32(at + ENTRY.function, entry.function >>> 0, true);
    view.setUint32(at + ENTRY.index, entry.index >>> 0, true);
    view.setUint32(at + ENTRY.flags, entry.flags >>> 0, true);
    for (const register of REGISTERS) {
      view.setUint32(at + ENTRY[register], entry[register] >>> 0, true);
    }
  });
  return bytes;
}

/** Decodes a `kvm_cpuid2` buffer (as many entries as its nent says). */
export function decodeCpuid(bytes: Uint8Array): CpuidEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(KVM_CPUID2.nent, true);
  const entries: CpuidEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = KVM_CPUID2.entries + i * ENTRY.size;
    entries.push({
      function: view.getUint32(at + ENTRY.function, true),
      index: view.getUint32(at + ENTRY.index, true),
      flags: view.getUint32(at + ENTRY.flags, true),
      eax: view.getUint32(at + ENTRY.eax, true),
      ebx: view.getUint32(at + ENTRY.ebx, true),
      ecx: view.getUint32(at + ENTRY.ecx, true),
      edx: view.getUint32(at + ENTRY.edx, true),
    });
  }
  return entries;
}
