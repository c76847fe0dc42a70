/**
 * guestCpuid: the fixes applied to KVM's supported CPUID for a Linux guest.
 *
 * @module
 */

import assert from "node:assert/strict";
import { guestCpuid, parseCpuidMask } from "../../lib/arch/x86_64/cpuid.ts";
import type { CpuidEntry } from "../../lib/kvm/cpuid.ts";

const entry = (fn: number, ecx: number, ebx = 0): CpuidEntry => ({
  function: fn,
  index: 0,
  flags: 0,
  eax: 0,
  ebx,
  ecx,
  edx: 0,
});
/** A supported leaf 1 as KVM gives it: VMX (bit 5) and SSE3, no TSC-deadline bit (24). */
const SUPPORTED = [entry(0, 0), entry(1, (1 << 5) | 1, 0x0800)];
const leaf1 = (entries: CpuidEntry[]) => entries.find((e) => e.function === 1)!;
const TSC_DEADLINE = 1 << 24;

Deno.test("guestCpuid: leaf 1 fixes and the TSC-deadline timer", async (t) => {
  await t.step("APIC id and one logical CPU in EBX, hypervisor on, VMX off", () => {
    const out = leaf1(guestCpuid(SUPPORTED, 3, []));
    assert.equal(out.ebx, (3 << 24) | (1 << 16) | 0x0800);
    assert.equal(out.ecx, (1 << 31 | 1) >>> 0);
    assert.equal(leaf1(SUPPORTED).ecx, (1 << 5) | 1, "the input is not changed");
  });
  await t.step("tscDeadline sets leaf 1 ECX bit 24 (KVM does not report it)", () => {
    assert.equal(leaf1(guestCpuid(SUPPORTED, 0, [])).ecx & TSC_DEADLINE, 0);
    const out = leaf1(guestCpuid(SUPPORTED, 0, [], { tscDeadline: true }));
    assert.equal(out.ecx & TSC_DEADLINE, TSC_DEADLINE);
  });
  await t.step("--cpuid-mask tsc_deadline_timer still hides it", () => {
    const mask = parseCpuidMask("tsc_deadline_timer");
    const out = leaf1(guestCpuid(SUPPORTED, 0, mask, { tscDeadline: true }));
    assert.equal(out.ecx & TSC_DEADLINE, 0);
  });
});
