/**
 * Every stop reason a guest can reach through the Vm API (hlt, exit-device, shutdown,
 * internal-error, timeout, aborted) with its status and description, timeouts and aborts of
 * runaway guests, and the crash report.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CpuMode, describeStop, isCrash, type RunResult, Vm } from "../../mod.ts";
import { assertResetRegisters, shutdownResetsVcpu } from "../cli/_run.ts";
import { EXIT_REASONS } from "../../lib/kvm/abi.ts";

const guest = (name: string) =>
  Deno.readFileSync(new URL(`../../guests/${name}.bin`, import.meta.url));

/** Runs guest `name` in `mode` to its stop; returns the result and the crash report. */
function runGuest(name: string | Uint8Array, mode: CpuMode = "real", timeout?: number) {
  using vm = new Vm({ mode, output: () => {} });
  vm.load(typeof name === "string" ? guest(name) : name);
  const result = vm.run({ timeout });
  return { result, report: vm.crashReport(result.stop) };
}

Deno.test("each stop reason is reachable from a guest", async (t) => {
  const check = (result: RunResult, status: number, crash: boolean, text: string) => {
    assert.equal(result.status, status, "status");
    assert.equal(isCrash(result.stop), crash, "crash");
    assert.equal(describeStop(result.stop), text);
  };
  await t.step("hlt: hello", () => {
    const { result } = runGuest("hello");
    assert.deepEqual(result.stop, { kind: "hlt" });
    check(result, 0, false, "guest halted (KVM_EXIT_HLT)");
  });
  await t.step("exit-device: exit_code", () => {
    const { result } = runGuest("exit_code");
    assert.deepEqual(result.stop, { kind: "exit-device", status: 42 });
    check(result, 42, false, "guest exited with status 42");
  });
  await t.step("shutdown: triple_fault in protected mode", () => {
    const { result } = runGuest("triple_fault", "protected");
    assert.deepEqual(result.stop, { kind: "shutdown" });
    check(result, 1, true, "guest triple-faulted (KVM_EXIT_SHUTDOWN)");
  });
  await t.step("internal-error: emulation_failure in long mode", () => {
    const { result } = runGuest("emulation_failure", "long");
    const stop = result.stop;
    assert.ok(stop.kind === "internal-error", `got ${stop.kind}`);
    assert.equal(stop.suberror, 1);
    assert.equal(stop.suberrorName, "KVM_INTERNAL_ERROR_EMULATION");
    // KVM may or may not hand over the instruction bytes (a fetch from unbacked memory has
    // none on kvm-pvm); the description carries them exactly when the stop does.
    const bytes = stop.instruction
      ? `; instruction bytes: ${
        [...stop.instruction].map((b) => b.toString(16).padStart(2, "0")).join(" ")
      }`
      : "";
    check(
      result,
      1,
      true,
      "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)" +
        bytes,
    );
  });
  await t.step("timeout: runaway with run({ timeout: 0.3 })", () => {
    const started = performance.now();
    const { result } = runGuest("runaway", "real", 0.3);
    const elapsed = performance.now() - started;
    assert.deepEqual(result.stop, { kind: "timeout" });
    check(result, 124, false, "guest timed out");
    assert.ok(elapsed >= 300, `stopped after ${elapsed.toFixed(0)} ms, not before 300`);
    assert.ok(elapsed < 2000, `stopped after ${elapsed.toFixed(0)} ms, well before 2 s`);
  });
  await t.step(
    "aborted: runaway with runAsync and an AbortSignal fired by setTimeout",
    async () => {
      using vm = new Vm({ output: () => {} });
      vm.load(guest("runaway"));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 100);
      const started = performance.now();
      const result = await vm.runAsync({ signal: controller.signal });
      const elapsed = performance.now() - started;
      clearTimeout(timer);
      assert.deepEqual(result.stop, { kind: "aborted" });
      check(result, 130, false, "run aborted");
      assert.ok(elapsed >= 100 && elapsed < 2000, `aborted after ${elapsed.toFixed(0)} ms`);
    },
  );
});

Deno.test("runAsync() runs to the guest's own stop, or to its timeout", async (t) => {
  await t.step("hello halts", async () => {
    let text = "";
    using vm = new Vm({ output: (bytes) => text += new TextDecoder().decode(bytes) });
    vm.load(guest("hello"));
    const result = await vm.runAsync();
    assert.deepEqual(result.stop, { kind: "hlt" });
    assert.equal(text, "Hello\n");
  });
  await t.step("runaway times out with status 124", async () => {
    using vm = new Vm({ output: () => {} });
    vm.load(guest("runaway"));
    const started = performance.now();
    const result = await vm.runAsync({ timeout: 0.2, sliceMs: 10 });
    assert.deepEqual(result.stop, { kind: "timeout" });
    assert.equal(result.status, 124);
    assert.ok(performance.now() - started >= 200);
  });
  await t.step("an abort between slices leaves no pending kick for the next run", async () => {
    // A timer runs only between slices, so this abort always lands there: it set immediate_exit
    // with no KVM_RUN to consume it, and the next run began with a KVM_EXIT_INTR.
    using vm = new Vm({ output: () => {} });
    vm.load(Uint8Array.of(0xeb, 0xfe, 0xf4)); // 0x1000: jmp $; 0x1002: hlt
    const timer = setTimeout(() => vm.abort(), 50);
    assert.deepEqual((await vm.runAsync({ sliceMs: 10 })).stop, { kind: "aborted" });
    clearTimeout(timer);
    const intrBefore = vm.exits.byReason.get(EXIT_REASONS.KVM_EXIT_INTR) ?? 0;
    vm.setRegs({ ...vm.getRegs(), rip: 0x1002n });
    assert.deepEqual(vm.run().stop, { kind: "hlt" });
    assert.equal(vm.exits.byReason.get(EXIT_REASONS.KVM_EXIT_INTR) ?? 0, intrBefore);
  });
  await t.step("an already aborted signal stops it at once", async () => {
    using vm = new Vm({ output: () => {} });
    vm.load(guest("runaway"));
    const started = performance.now();
    const result = await vm.runAsync({ signal: AbortSignal.abort() });
    assert.deepEqual(result.stop, { kind: "aborted" });
    assert.equal(result.status, 130);
    assert.ok(performance.now() - started < 1000);
  });
});

Deno.test("run({ timeout }) leaves no kick timer running after it returns", async () => {
  let kicks = 0;
  const count = () => kicks++;
  Deno.addSignalListener("SIGUSR2", count);
  try {
    runGuest("runaway", "real", 0.05);
    await new Promise((resolve) => setTimeout(resolve, 60)); // kicks already in flight land
    const settled = kicks;
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten re-kick periods
    assert.equal(kicks, settled, "no SIGUSR2 after the run ended");
  } finally {
    Deno.removeSignalListener("SIGUSR2", count);
  }
});

Deno.test("crashReport() names the stop and the registers that locate it", async (t) => {
  await t.step("a triple fault in protected mode", () => {
    const { report } = runGuest("triple_fault", "protected");
    const lines = report.split("\n");
    assert.equal(lines[0], "microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)");
    if (shutdownResetsVcpu()) return assertResetRegisters(lines, 6);
    assert.equal(lines.length, 6, "no POST line: the guest wrote no POST code");
    assert.equal(lines[0], "microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)");
    assert.match(
      lines[1],
      /^ {2}RIP=0x0000000000001000 RSP=0x00000000001f0000 RFLAGS=0x[0-9a-f]{8}$/,
    );
    assert.match(
      lines[2],
      /^ {2}RAX=0x[0-9a-f]{16} RBX=0x[0-9a-f]{16} RCX=0x[0-9a-f]{16} RDX=0x[0-9a-f]{16}$/,
    );
    assert.match(
      lines[3],
      /^ {2}CR0=0x00000031 CR2=0x[0-9a-f]{16} CR3=0x0000000000000000 CR4=0x00000000$/,
    );
    assert.equal(
      lines[4],
      "  EFER=0x00000000 CS: sel=0x0008 base=0x0000000000000000 limit=0xffffffff type=11 l=0 db=1",
    );
    assert.equal(
      lines[5],
      "  GDT base=0x00000000001f0000 limit=0x0017 IDT base=0x0000000000000000 limit=0x0000",
    );
  });
  await t.step("the last POST code is shown when the guest wrote one", () => {
    // Protected mode: mov al, 0x42; out 0x80, al; ud2
    const { result, report } = runGuest(
      Uint8Array.of(0xb0, 0x42, 0xe6, 0x80, 0x0f, 0x0b),
      "protected",
    );
    assert.deepEqual(result.stop, { kind: "shutdown" });
    const lines = report.split("\n");
    assert.equal(lines[6], "  last POST code: 0x42");
    if (shutdownResetsVcpu()) return assertResetRegisters(lines, 7);
    assert.equal(lines.length, 7);
    assert.match(lines[1], /^ {2}RIP=0x0000000000001004 /, "RIP at the UD2");
  });
  await t.step("an emulation failure in long mode shows RIP at the unbacked address", () => {
    const { report } = runGuest("emulation_failure", "long");
    const lines = report.split("\n");
    assert.match(lines[0], /^microvmm: KVM internal error \(KVM_EXIT_INTERNAL_ERROR, suberror 1 /);
    assert.match(lines[1], /^ {2}RIP=0x00000000d0000000 /);
    assert.match(
      lines[3],
      /^ {2}CR0=0x80000031 CR2=0x[0-9a-f]{16} CR3=0x00000000001f1000 CR4=0x00000020$/,
    );
    assert.match(
      lines[4],
      /^ {2}EFER=0x00000500 CS: sel=0x0008 base=0x0{16} limit=0xffffffff type=11 l=1 db=0$/,
    );
  });
});
