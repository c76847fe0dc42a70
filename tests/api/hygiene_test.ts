/**
 * Resource hygiene: a thousand VMs created, run and disposed in one process leave the process's
 * open fds, memory mappings and POSIX timers where they started.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Vm } from "../../mod.ts";
import { rounds } from "../_scale.ts";

const HELLO = Deno.readFileSync(new URL("../../guests/hello.bin", import.meta.url));
/** 1000 VMs here; 100 in the nested test host, where each costs ~20x more. */
const COUNT = rounds(1000, 100);
const WARM_UP = 5;
/** Guest RAM of an odd size (1 MiB + 44 KiB), so its mappings can be told apart. */
const RAM_SIZE = 0x10b000;
/** Allowed growth of open fds: Deno itself may open a file now and then. */
const FD_SLACK = 2;
/**
 * Allowed growth of /proc/self/maps lines. V8 grows its heap in 256 KiB mappings and malloc
 * grows its arenas while a thousand VMs' worth of JS objects come and go (up to +6 seen); a
 * per-VM leak would add hundreds. The VMM's own mappings must come back exactly.
 */
const MAPS_SLACK = 16;

/** This process's open fds and mappings; `vmm` counts guest RAM and `kvm_run` mappings. */
function usage(): { fds: number; maps: number; vmm: number; mappedMiB: number } {
  const fds = [...Deno.readDirSync("/proc/self/fd")].length;
  const lines = Deno.readTextFileSync("/proc/self/maps").trimEnd().split("\n");
  let vmm = 0;
  let mapped = 0;
  for (const line of lines) {
    const [start, end] = line.split(" ")[0].split("-").map((hex) => parseInt(hex, 16));
    mapped += end - start;
    if (end - start === RAM_SIZE || line.includes("anon_inode:kvm")) vmm++;
  }
  return { fds, maps: lines.length, vmm, mappedMiB: Math.round(mapped / 2 ** 20) };
}

/** Creates a VM and, when `run`, loads and runs hello in it; always disposes it. */
function cycle(run: boolean): void {
  let output = 0;
  using vm = new Vm({ memory: RAM_SIZE, output: (bytes) => output += bytes.length });
  if (!run) return;
  vm.load(HELLO);
  const result = vm.run();
  if (result.stop.kind !== "hlt" || output !== 6) {
    throw new Error(`hello did not run: ${result.stop.kind}, ${output} bytes of output`);
  }
}

/** Runs `COUNT` cycles after a warm-up and checks fds and mappings came back. */
function checkCycles(run: boolean, label: string): void {
  for (let i = 0; i < WARM_UP; i++) cycle(run);
  const before = usage();
  let peakFds = before.fds;
  for (let i = 0; i < COUNT; i++) {
    cycle(run);
    if (i % 100 === 99) peakFds = Math.max(peakFds, usage().fds);
  }
  const after = usage();
  console.log(
    `${label} x${COUNT}: fds ${before.fds} -> ${after.fds} (peak ${peakFds}), ` +
      `maps ${before.maps} -> ${after.maps}, VMM maps ${before.vmm} -> ${after.vmm}, ` +
      `mapped ${before.mappedMiB} -> ${after.mappedMiB} MiB`,
  );
  assert.ok(after.fds <= before.fds + FD_SLACK, `fds grew from ${before.fds} to ${after.fds}`);
  assert.ok(peakFds <= before.fds + FD_SLACK, `fds peaked at ${peakFds}`);
  assert.equal(after.vmm, before.vmm, "guest RAM and kvm_run mappings all unmapped");
  assert.ok(
    after.maps <= before.maps + MAPS_SLACK,
    `maps grew from ${before.maps} to ${after.maps}`,
  );
  // 1000 leaked RAM mappings would be 1 GiB, even if the kernel merged them into few lines.
  assert.ok(after.mappedMiB <= before.mappedMiB + 64, "mapped memory came back");
}

Deno.test(`${COUNT} VMs created, run and disposed leave no fds or mappings behind`, () => {
  checkCycles(true, "create, load, run, dispose");
});

Deno.test(`${COUNT} VMs created and disposed without running leave nothing behind`, () => {
  checkCycles(false, "create, dispose");
});

/** POSIX timers of this process (the kick timers of timed runs). */
function timers(): number {
  const lines = Deno.readTextFileSync("/proc/self/timers").split("\n");
  return lines.filter((line) => line.startsWith("ID:")).length;
}

Deno.test("VMs that ran with a timeout delete their kick timers on dispose", () => {
  const hltLoop = Uint8Array.of(0xf4, 0xeb, 0xfd); // hlt; jmp back to the hlt
  const before = { timers: timers(), ...usage() };
  for (let i = 0; i < 100; i++) {
    using vm = new Vm({ output: () => {} });
    vm.load(hltLoop);
    assert.equal(vm.run({ timeout: 5 }).stop.kind, "hlt");
    assert.equal(vm.run({ timeout: 5 }).stop.kind, "hlt", "a second run reuses the timer");
    assert.equal(timers(), before.timers + 1, "one timer per VM while it lives");
  }
  const after = { timers: timers(), ...usage() };
  console.log(
    `timed runs x100: timers ${before.timers} -> ${after.timers}, ` +
      `fds ${before.fds} -> ${after.fds}`,
  );
  assert.equal(after.timers, before.timers);
  assert.ok(after.fds <= before.fds + FD_SLACK);
});

Deno.test("failed constructors leave nothing behind", () => {
  const failures = () => {
    assert.throws(() => new Vm({ kvmPath: "/nonexistent" }), { name: "KvmError" });
    assert.throws(() => new Vm({ memory: "1K" }), { name: "ConfigError" });
    // /dev/null opens but is not KVM (KVM_GET_API_VERSION fails): its fd must be closed again.
    assert.throws(() => new Vm({ kvmPath: "/dev/null" }), { name: "KvmError" });
  };
  for (let i = 0; i < WARM_UP; i++) failures();
  const before = usage();
  for (let i = 0; i < 100; i++) failures();
  const after = usage();
  console.log(
    `failed constructors x300: fds ${before.fds} -> ${after.fds}, ` +
      `maps ${before.maps} -> ${after.maps}`,
  );
  assert.ok(after.fds <= before.fds + FD_SLACK, `fds grew from ${before.fds} to ${after.fds}`);
  assert.ok(
    after.maps <= before.maps + MAPS_SLACK,
    `maps grew from ${before.maps} to ${after.maps}`,
  );
});
