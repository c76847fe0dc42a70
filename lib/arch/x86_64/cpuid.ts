/**
 * The CPUID a Linux guest sees: KVM's supported leaves with the fixes VMMs apply (APIC id and
 * topology for one vCPU, the hypervisor bit, no nested virtualisation) and user feature masks.
 *
 * @module
 */

import type { CpuidEntry } from "../../kvm/cpuid.ts";
import { ConfigError } from "../../vmm/config_error.ts";

/** A maskable CPUID feature: leaf, subleaf, register and bit (SDM Vol. 2A, CPUID). */
export interface CpuidFeature {
  leaf: number;
  subleaf: number;
  register: "eax" | "ebx" | "ecx" | "edx";
  bit: number;
}

/** Feature names accepted by `--cpuid-mask`, as Linux's /proc/cpuinfo spells them. */
export const CPUID_FEATURES: Record<string, CpuidFeature> = {
  sse3: { leaf: 1, subleaf: 0, register: "ecx", bit: 0 },
  pclmulqdq: { leaf: 1, subleaf: 0, register: "ecx", bit: 1 },
  ssse3: { leaf: 1, subleaf: 0, register: "ecx", bit: 9 },
  fma: { leaf: 1, subleaf: 0, register: "ecx", bit: 12 },
  cx16: { leaf: 1, subleaf: 0, register: "ecx", bit: 13 },
  pcid: { leaf: 1, subleaf: 0, register: "ecx", bit: 17 },
  sse4_1: { leaf: 1, subleaf: 0, register: "ecx", bit: 19 },
  sse4_2: { leaf: 1, subleaf: 0, register: "ecx", bit: 20 },
  x2apic: { leaf: 1, subleaf: 0, register: "ecx", bit: 21 },
  movbe: { leaf: 1, subleaf: 0, register: "ecx", bit: 22 },
  popcnt: { leaf: 1, subleaf: 0, register: "ecx", bit: 23 },
  tsc_deadline_timer: { leaf: 1, subleaf: 0, register: "ecx", bit: 24 },
  aes: { leaf: 1, subleaf: 0, register: "ecx", bit: 25 },
  xsave: { leaf: 1, subleaf: 0, register: "ecx", bit: 26 },
  avx: { leaf: 1, subleaf: 0, register: "ecx", bit: 28 },
  f16c: { leaf: 1, subleaf: 0, register: "ecx", bit: 29 },
  rdrand: { leaf: 1, subleaf: 0, register: "ecx", bit: 30 },
  fsgsbase: { leaf: 7, subleaf: 0, register: "ebx", bit: 0 },
  bmi1: { leaf: 7, subleaf: 0, register: "ebx", bit: 3 },
  avx2: { leaf: 7, subleaf: 0, register: "ebx", bit: 5 },
  smep: { leaf: 7, subleaf: 0, register: "ebx", bit: 7 },
  bmi2: { leaf: 7, subleaf: 0, register: "ebx", bit: 8 },
  erms: { leaf: 7, subleaf: 0, register: "ebx", bit: 9 },
  invpcid: { leaf: 7, subleaf: 0, register: "ebx", bit: 10 },
  avx512f: { leaf: 7, subleaf: 0, register: "ebx", bit: 16 },
  rdseed: { leaf: 7, subleaf: 0, register: "ebx", bit: 18 },
  adx: { leaf: 7, subleaf: 0, register: "ebx", bit: 19 },
  smap: { leaf: 7, subleaf: 0, register: "ebx", bit: 20 },
  sha_ni: { leaf: 7, subleaf: 0, register: "ebx", bit: 29 },
  umip: { leaf: 7, subleaf: 0, register: "ecx", bit: 2 },
  pku: { leaf: 7, subleaf: 0, register: "ecx", bit: 3 },
  la57: { leaf: 7, subleaf: 0, register: "ecx", bit: 16 },
  rdpid: { leaf: 7, subleaf: 0, register: "ecx", bit: 22 },
  lahf_lm: { leaf: 0x8000_0001, subleaf: 0, register: "ecx", bit: 0 },
  abm: { leaf: 0x8000_0001, subleaf: 0, register: "ecx", bit: 5 },
  pdpe1gb: { leaf: 0x8000_0001, subleaf: 0, register: "edx", bit: 26 },
  rdtscp: { leaf: 0x8000_0001, subleaf: 0, register: "edx", bit: 27 },
};

/** Leaf 1 ECX bit 5: VMX (SDM); leaf 0x80000001 ECX bit 2: SVM (AMD APM Vol. 3). */
const NESTED_VIRT: CpuidFeature[] = [
  { leaf: 1, subleaf: 0, register: "ecx", bit: 5 },
  { leaf: 0x8000_0001, subleaf: 0, register: "ecx", bit: 2 },
];
/** Leaf 1 ECX bit 31: running under a hypervisor. */
const HYPERVISOR_BIT = 31;
/**
 * Leaf 1 ECX bit 24: the LAPIC timer has TSC-deadline mode. KVM emulates it in its in-kernel
 * LAPIC but leaves it out of KVM_GET_SUPPORTED_CPUID: the VMM sets it when
 * KVM_CAP_TSC_DEADLINE_TIMER is there (as QEMU and Firecracker do).
 */
const TSC_DEADLINE_BIT = 24;

/** What {@link guestCpuid} adds to KVM's supported leaves. */
export interface GuestCpuidOptions {
  /** Advertise the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER and an in-kernel LAPIC). */
  tscDeadline?: boolean;
}

/** Parses a `--cpuid-mask` list ("xsave,avx,cx16") into features; throws on unknown names. */
export function parseCpuidMask(text: string): CpuidFeature[] {
  return text.split(",").map((name) => name.trim()).filter((name) => name !== "").map((name) => {
    const feature = CPUID_FEATURES[name.toLowerCase()];
    if (!feature) {
      throw new ConfigError(
        `--cpuid-mask: unknown feature "${name}" (known: ${
          Object.keys(CPUID_FEATURES).join(", ")
        })`,
      );
    }
    return feature;
  });
}

function clear(entries: CpuidEntry[], feature: CpuidFeature): void {
  for (const entry of entries) {
    if (entry.function === feature.leaf && entry.index === feature.subleaf) {
      entry[feature.register] = (entry[feature.register] & ~(1 << feature.bit)) >>> 0;
    }
  }
}

/**
 * Returns a copy of KVM's supported CPUID fixed for a one-vCPU guest with APIC id `apicId`:
 * leaf 1 EBX APIC id and logical count, hypervisor bit on, VMX/SVM off, x2APIC id in leaves
 * 0xB/0x1F, cache-topology sharing of one core in leaf 4, the TSC-deadline timer if
 * `options.tscDeadline`, then each masked feature cleared.
 */
export function guestCpuid(
  supported: CpuidEntry[],
  apicId: number,
  masked: CpuidFeature[],
  options: GuestCpuidOptions = {},
): CpuidEntry[] {
  const entries = supported.map((entry) => ({ ...entry }));
  for (const entry of entries) {
    switch (entry.function) {
      case 1:
        // EBX[31:24] initial APIC id, [23:16] logical processors per package, [15:8] CLFLUSH size.
        entry.ebx = ((apicId << 24) | (1 << 16) | (entry.ebx & 0xffff)) >>> 0;
        entry.ecx = (entry.ecx | (1 << HYPERVISOR_BIT)) >>> 0;
        if (options.tscDeadline) entry.ecx = (entry.ecx | (1 << TSC_DEADLINE_BIT)) >>> 0;
        break;
      case 4:
        // EAX[31:26] cores per package - 1, [25:14] threads sharing this cache - 1: one each.
        entry.eax = (entry.eax & 0x3fff) >>> 0;
        break;
      case 0xb:
      case 0x1f:
        // EDX: this logical processor's x2APIC id.
        entry.edx = apicId;
        break;
    }
  }
  for (const feature of [...NESTED_VIRT, ...masked]) clear(entries, feature);
  return entries;
}
