/**
 * The report printed when a guest dies: why, and the registers that say where and in what mode.
 *
 * @module
 */

import type { Regs, Segment, Sregs } from "../kvm/regs.ts";
import { describeStop, type StopReason } from "../vmm/stop_reason.ts";

const hex = (value: bigint | number, width = 16) => `0x${value.toString(16).padStart(width, "0")}`;

function segment(s: Segment): string {
  return `sel=${hex(s.selector, 4)} base=${hex(s.base)} limit=${
    hex(s.limit, 8)
  } type=${s.type} l=${s.l} db=${s.db}`;
}

/** The note added when the registers after a triple fault are the vCPU's reset state. */
export const RESET_AFTER_SHUTDOWN_NOTE =
  "  (KVM reset the vCPU on the triple fault, as it does on AMD: these are its reset registers, " +
  "not where it faulted)";

/**
 * True if the registers are x86's reset state (CS:IP = f000:fff0, CS base ffff0000). KVM on AMD
 * (SVM) reinitialises the vCPU when the guest triple-faults, so the faulting registers are gone.
 */
export function isResetState(regs: Regs, sregs: Sregs): boolean {
  return regs.rip === 0xfff0n && sregs.cs.selector === 0xf000 && sregs.cs.base === 0xffff0000n;
}

/**
 * Formats the crash report: the stop line, then RIP/RSP/RFLAGS, control registers, EFER, CS, the
 * last POST code if any, and a note when a triple fault left only the vCPU's reset state.
 */
export function crashReport(stop: StopReason, regs: Regs, sregs: Sregs, postCode?: number): string {
  const lines = [
    `microvmm: ${describeStop(stop)}`,
    `  RIP=${hex(regs.rip)} RSP=${hex(regs.rsp)} RFLAGS=${hex(regs.rflags, 8)}`,
    `  RAX=${hex(regs.rax)} RBX=${hex(regs.rbx)} RCX=${hex(regs.rcx)} RDX=${hex(regs.rdx)}`,
    `  CR0=${hex(sregs.cr0, 8)} CR2=${hex(sregs.cr2)} CR3=${hex(sregs.cr3)} CR4=${
      hex(sregs.cr4, 8)
    }`,
    `  EFER=${hex(sregs.efer, 8)} CS: ${segment(sregs.cs)}`,
    `  GDT base=${hex(sregs.gdt.base)} limit=${hex(sregs.gdt.limit, 4)} IDT base=${
      hex(sregs.idt.base)
    } limit=${hex(sregs.idt.limit, 4)}`,
  ];
  if (postCode !== undefined) lines.push(`  last POST code: ${hex(postCode, 2)}`);
  if (stop.kind === "shutdown" && isResetState(regs, sregs)) lines.push(RESET_AFTER_SHUTDOWN_NOTE);
  return lines.join("\n");
}
