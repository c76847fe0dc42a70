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

/** Formats the crash report: the stop line, then RIP/RSP/RFLAGS, control registers, EFER, CS. */
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
  return lines.join("\n");
}
