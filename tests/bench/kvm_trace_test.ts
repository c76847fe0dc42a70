/**
 * Tests of the Linux boot bench's ftrace arithmetic (bench/_kvm_trace.ts) on a hand-written trace
 * in the format of the host kernel's `trace` file with options/record-tgid.
 * @module
 */

import assert from "node:assert/strict";
import { vcpuTime } from "../../bench/_kvm_trace.ts";

const line = (comm: string, tid: number, tgid: number, seconds: number, rest: string) =>
  `${comm.padStart(16)}-${tid}  (${String(tgid).padStart(7)}) [000] d..2.  ${
    seconds.toFixed(6)
  }: ${rest}`;

/** Process 200 (vCPU thread 201), with another VM's process 300 in between. */
const TRACE = [
  "# tracer: nop",
  line("deno", 100, 100, 10.0, "tracing_mark_write: bench-spawn"),
  line("qemu-system-x86", 301, 300, 10.5, "kvm_exit: vcpu 0 reason io rip 0x0 info1 0 info2 0"),
  line("CPU 0/KVM", 201, 200, 11.0, "kvm_exit: vcpu 0 reason cpuid rip 0x1000 info1 0 info2 0"),
  line("CPU 0/KVM", 201, 200, 11.001, "kvm_entry: vcpu 0, rip 0x1002"),
  line("CPU 0/KVM", 201, 200, 11.101, "kvm_exit: vcpu 0 reason io rip 0x1010 info1 0 info2 0"),
  line("CPU 0/KVM", 201, 200, 11.102, "kvm_userspace_exit: reason KVM_EXIT_IO (2)"),
  line("CPU 0/KVM", 201, 200, 11.111, "kvm_entry: vcpu 0, rip 0x1011"),
  line("deno", 100, 100, 11.311, "tracing_mark_write: bench-end"),
  line("CPU 0/KVM", 201, 200, 11.4, "kvm_exit: vcpu 0 reason hlt rip 0x1020 info1 0 info2 0"),
].join("\n");

Deno.test("kvm trace: vCPU time of one process", async (t) => {
  await t.step("start-up, time outside and inside the guest up to the end mark", () => {
    const r = vcpuTime(TRACE, 200);
    assert.equal(r.startup.toFixed(3), "1000.000");
    assert.equal(r.outside.toFixed(3), "11.000"); // 1 ms in the kernel + 10 ms in user space
    assert.equal(r.outsideAfterUserspace.toFixed(3), "10.000");
    assert.equal(r.inside.toFixed(3), "300.000"); // 100 ms, then 200 ms up to the end mark
    assert.equal(r.exits, 2, "the exit after the end mark is not counted");
    assert.equal(r.userspaceExits, 1);
  });

  await t.step("a process with no exits is an error that names it", () => {
    assert.throws(() => vcpuTime(TRACE, 999), { message: "the KVM trace has no exit of 999" });
  });
});
