/**
 * Hostile guests: unbacked MMIO, a wiped VMM area, self-modifying code, a 2 GiB REP INSB and every
 * I/O port — each handled and counted, and ending the way the guest earned.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describeStop, Vm } from "../../mod.ts";
import {
  assertResetRegisters,
  assertRun,
  type CliRun,
  isPvmHost,
  runCases,
  shutdownResetsVcpu,
} from "../cli/_run.ts";
import { GUESTS, patchedGuest, TempFile } from "./_proc.ts";

const guest = (name: string) => Deno.readFileSync(`${GUESTS}/${name}.bin`);
const TRIPLE_FAULT = "microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)";

/** A long-mode Vm with 2 MiB of RAM whose console output is collected as text. */
function longVm(): { vm: Vm; output: () => string } {
  let text = "";
  const decoder = new TextDecoder();
  const vm = new Vm({ mode: "long", memory: "2M", output: (b) => text += decoder.decode(b) });
  return { vm, output: () => text };
}

Deno.test("unbacked MMIO of every size: counted as unclaimed, stores dropped, loads all ones", () => {
  const { vm, output } = longVm();
  using _ = vm;
  vm.load(guest("mmio_unbacked"));
  const result = vm.run({ timeout: 20 });
  assert.deepEqual(result.stop, { kind: "hlt" });
  assert.equal(output(), "mmio: all ones\n");
  assert.equal(vm.getRegs().r15, 0n, "no load was anything but all ones");
  assert.equal(result.exits.unclaimedMmio, 40, "5 addresses x (4 stores + 4 loads)");
  const addresses = [0x200000, 0x40000000, 0xd0000000, 0xfee00000, 0xfffffff8];
  assert.deepEqual([...result.exits.mmioWrites], addresses.map((a) => [a, 4]));
  assert.deepEqual([...result.exits.mmioReads], addresses.map((a) => [a, 4]));
});

/**
 * Asserts a triple-fault crash report after `stdout`, with RIP at one of `rips` (or the reset
 * registers and their note where KVM resets the vCPU on a triple fault: AMD).
 */
function assertTripleFault(run: CliRun, stdout: string, rips: number[]): void {
  assert.equal(run.stdout, stdout);
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines[0], TRIPLE_FAULT);
  assert.doesNotMatch(run.stderr, /^ {4}at /m, "no stack trace");
  if (shutdownResetsVcpu()) return assertResetRegisters(lines, lines.length - 1);
  const rip = /^ {2}RIP=0x([0-9a-f]{16}) /.exec(lines[1])?.[1];
  assert.ok(rip && rips.includes(parseInt(rip, 16)), `RIP in ${lines[1]}`);
}

Deno.test("hostile guests on the command line end the way they earned", async (t) => {
  using wipeAll = new TempFile(patchedGuest("wipe_vmm", 4, 0, 1));
  await runCases(t, [
    {
      name: "zeroing the VMM's GDT, then loading DS: #GP, triple fault, status 1",
      args: ["--mode", "long", "guests/wipe_vmm.bin"],
      // RIP 0x1032 is the MOV to DS: the fault is the guest's, at the instruction that used it.
      check: (run) => assertTripleFault(run, "wiping\n", [0x1032]),
    },
    {
      name: "zeroing the GDT and page tables, then reloading CR3: #PF, triple fault, status 1",
      args: ["--mode", "long", wipeAll.path],
      // #PF at the latest at 0x1044, the fetch after MOV to CR3; kvm-pvm's shadow paging acts on
      // the first zeroed PML4 entry at once, inside the REP STOSQ at 0x103b (see wipe_vmm.S).
      check: (run) => assertTripleFault(run, "wiping\n", isPvmHost() ? [0x103b] : [0x103b, 0x1044]),
    },
    {
      name: "self-modifying code: written, rewritten and patched-ahead code all run as written",
      args: ["--mode", "long", "guests/smc.bin"],
      check: (run) => assertRun(run, "self-modified\n", 42),
    },
    {
      name: "IN and OUT on all 65536 ports: only the consoles print, and it completes",
      args: ["--mode", "long", "guests/port_sweep.bin"],
      check: (run) => assertRun(run, "xxx\nswept\n"),
    },
  ]);
});

Deno.test("REP INSB of 0x7fffffff bytes from an unclaimed port: every byte counted, a named end", () => {
  const { vm, output } = longVm();
  using _ = vm;
  vm.load(guest("huge_insb"));
  const result = vm.run({ timeout: 10 });
  const regs = vm.getRegs();
  const read = result.exits.portReads.get(0x5ca1) ?? 0;
  // Where KVM resets the vCPU on a triple fault (AMD), RCX and RDI no longer say how far it got:
  // the VMM's own count of the reads does.
  const reset = result.stop.kind === "shutdown" && shutdownResetsVcpu();
  const done = reset ? read : 0x7fffffff - Number(regs.rcx);
  console.log(
    `huge REP INSB: ${describeStop(result.stop)} after ${read} bytes in ` +
      `${result.exits.byReason.get(2) ?? 0} I/O exits, RDI=0x${regs.rdi.toString(16)}`,
  );
  assert.equal(output(), "", "never 'insb ended'");
  // The bytes soon reach the page tables at 0x1f1000 (2 MiB of RAM); the next page walk faults.
  // A timeout could stop it first on a slow host: then the last read may still be pending.
  if (isPvmHost()) assert.equal(result.stop.kind, "shutdown");
  assert.ok(["shutdown", "timeout"].includes(result.stop.kind), describeStop(result.stop));
  assert.equal(result.status, result.stop.kind === "shutdown" ? 1 : 124);
  assert.equal(result.exits.unclaimedPort, read, "every byte was an unclaimed read");
  assert.ok(read - done === 0 || (result.stop.kind === "timeout" && read - done === 1));
  if (reset) assert.equal(regs.rip, 0xfff0n, "the vCPU was reset");
  else assert.equal(Number(regs.rdi), 0x10000 + done, "RDI advanced by the bytes done");
  if (result.stop.kind === "shutdown") {
    assert.ok(done > 0x1f1000 - 0x10000, `it got to the page tables (${done} bytes)`);
  }
  const filled = vm.memory.read(0x10000, Math.min(done, vm.memory.size - 0x10000));
  assert.ok(filled.every((byte) => byte === 0xff), "RAM holds the all-ones it read");
});

Deno.test("IN and OUT on every port: unclaimed ports read 0xff, each access counted", () => {
  const { vm, output } = longVm();
  using _ = vm;
  vm.load(guest("port_sweep"));
  const result = vm.run({ timeout: 60 });
  assert.deepEqual(result.stop, { kind: "hlt" });
  assert.equal(output(), "xxx\nswept\n", "'x' from 0xe9, 0xf1 and COM1, in port order");
  const table = vm.memory.read(0x100000, 0x10004);
  const claimed: number[] = [];
  for (let port = 0; port < 0x10000; port++) {
    if (vm.ports.find(port)) claimed.push(port);
    else assert.equal(table[port], 0xff, `port 0x${port.toString(16)} read`);
  }
  assert.deepEqual(claimed, [
    0x80,
    0xe9,
    0xf1,
    0xf4,
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => 0x3f8 + i),
  ]);
  assert.deepEqual([...table.subarray(0x10000)], [0xff, 0xff, 0xff, 0xff], "dword at 0xffff");
  const { exits } = result;
  assert.equal(exits.unclaimedPort, 2 * (0x10000 - claimed.length) + 2);
  for (let port = 0; port < 0x10000; port++) {
    const writes = port === 0xf4 ? 0 : port === 0xf1 ? 8 : port === 0xffff ? 2 : 1;
    assert.equal(exits.portWrites.get(port) ?? 0, writes, `writes to 0x${port.toString(16)}`);
    assert.equal(exits.portReads.get(port), port === 0xffff ? 2 : 1);
  }
});
