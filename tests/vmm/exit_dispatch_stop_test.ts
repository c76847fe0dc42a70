/**
 * Tests of the exits ExitDispatcher turns into stop reasons (HLT, SHUTDOWN, FAIL_ENTRY,
 * INTERNAL_ERROR, SYSTEM_EVENT, unknown reasons), decoded from a fake `kvm_run`, and of the
 * ExitStats counters and their `--trace` text.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  EXIT_REASONS,
  INTERNAL_ERRORS,
  KVM_EXIT_IO_OUT,
  KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES as FLAG_INSN,
  KVM_RUN,
  SYSTEM_EVENTS,
} from "../../lib/kvm/abi.ts";
import { Bus } from "../../lib/vmm/bus.ts";
import { ExitDispatcher } from "../../lib/vmm/exit_dispatch.ts";
import { ExitStats, MMIO_ADDRESSES_TRACKED } from "../../lib/vmm/exit_stats.ts";
import { describeStop } from "../../lib/vmm/stop_reason.ts";

/** A dispatcher over a fake `kvm_run` whose exit union is pre-filled with junk (0x5a). */
function harness() {
  const run = new Uint8Array(4096).fill(0x5a);
  const view = new DataView(run.buffer);
  const stats = new ExitStats();
  const dispatcher = new ExitDispatcher(run, new Bus("port"), new Bus("MMIO"), stats);
  return { run, view, stats, dispatcher };
}

/** Writes `kvm_run.internal` with `data` words; returns the harness for chaining. */
function internal(suberror: number, data: bigint[]) {
  const h = harness();
  h.view.setUint32(KVM_RUN.internal_suberror, suberror, true);
  h.view.setUint32(KVM_RUN.internal_ndata, data.length, true);
  data.forEach((word, i) => h.view.setBigUint64(KVM_RUN.internal_data + 8 * i, word, true));
  return h;
}

Deno.test("ExitDispatcher stops on HLT and SHUTDOWN", () => {
  const { dispatcher } = harness();
  assert.deepEqual(dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_HLT), { kind: "hlt" });
  assert.deepEqual(dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_SHUTDOWN), { kind: "shutdown" });
});

Deno.test("ExitDispatcher reports FAIL_ENTRY with the hardware reason and the cpu", () => {
  const h = harness();
  h.view.setBigUint64(KVM_RUN.fail_entry_hardware_entry_failure_reason, 0x8000_0021n, true);
  h.view.setUint32(KVM_RUN.fail_entry_cpu, 3, true);
  const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_FAIL_ENTRY);
  assert.deepEqual(stop, { kind: "fail-entry", hardwareReason: 0x8000_0021n, cpu: 3 });
  assert.equal(
    describeStop(stop!),
    "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x80000021, cpu 3)",
  );
});

Deno.test("ExitDispatcher decodes INTERNAL_ERROR", async (t) => {
  await t.step("an emulation failure with the instruction-bytes flag carries the bytes", () => {
    const h = internal(INTERNAL_ERRORS.KVM_INTERNAL_ERROR_EMULATION, [BigInt(FLAG_INSN), 0n]);
    // insn_size/insn_bytes overlay data[1] and on: write them after the data words.
    h.view.setUint8(KVM_RUN.emulation_failure_insn_size, 3);
    h.run.set([0x0f, 0x0b, 0x90], KVM_RUN.emulation_failure_insn_bytes);
    const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
    assert.ok(stop?.kind === "internal-error");
    assert.equal(stop.suberror, 1);
    assert.equal(stop.suberrorName, "KVM_INTERNAL_ERROR_EMULATION");
    assert.equal(stop.data.length, 2);
    assert.equal(stop.data[0], 1n);
    assert.deepEqual(stop.instruction, Uint8Array.of(0x0f, 0x0b, 0x90));
    assert.equal(
      describeStop(stop),
      "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)" +
        "; instruction bytes: 0f 0b 90",
    );
  });
  await t.step("an insn_size past the 15 bytes of insn_bytes is capped at 15", () => {
    const h = internal(INTERNAL_ERRORS.KVM_INTERNAL_ERROR_EMULATION, [BigInt(FLAG_INSN), 0n]);
    h.view.setUint8(KVM_RUN.emulation_failure_insn_size, 200);
    const bytes = Array.from({ length: 16 }, (_, i) => i + 1); // one byte past insn_bytes
    h.run.set(bytes, KVM_RUN.emulation_failure_insn_bytes);
    const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
    assert.ok(stop?.kind === "internal-error");
    assert.deepEqual(stop.instruction, Uint8Array.from(bytes.slice(0, 15)));
  });
  await t.step("without the flag there are no instruction bytes", () => {
    const h = internal(INTERNAL_ERRORS.KVM_INTERNAL_ERROR_EMULATION, [0n, 0x1000n, 0n]);
    const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
    assert.deepEqual(stop, {
      kind: "internal-error",
      suberror: 1,
      suberrorName: "KVM_INTERNAL_ERROR_EMULATION",
      data: [0n, 0x1000n, 0n],
      instruction: undefined,
    });
    assert.equal(
      describeStop(stop!),
      "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)",
    );
  });
  await t.step("other suberrors keep their data and never carry bytes", () => {
    const h = internal(INTERNAL_ERRORS.KVM_INTERNAL_ERROR_DELIVERY_EV, [1n, 2n, 3n, 4n]);
    const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
    assert.deepEqual(stop, {
      kind: "internal-error",
      suberror: 3,
      suberrorName: "KVM_INTERNAL_ERROR_DELIVERY_EV",
      data: [1n, 2n, 3n, 4n],
      instruction: undefined,
    });
  });
  await t.step(
    "ndata is capped at the 16 words kvm_run holds; unknown suberrors get a number",
    () => {
      const h = internal(77, []);
      h.view.setUint32(KVM_RUN.internal_ndata, 1000, true);
      const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
      assert.ok(stop?.kind === "internal-error");
      assert.equal(stop.data.length, 16);
      assert.equal(stop.data[15], 0x5a5a5a5a5a5a5a5an);
      assert.equal(stop.suberrorName, "KVM_INTERNAL_ERROR_77");
    },
  );
});

Deno.test("ExitDispatcher names SYSTEM_EVENT types", async (t) => {
  const cases: [number, string][] = [
    [SYSTEM_EVENTS.KVM_SYSTEM_EVENT_SHUTDOWN, "KVM_SYSTEM_EVENT_SHUTDOWN"],
    [SYSTEM_EVENTS.KVM_SYSTEM_EVENT_RESET, "KVM_SYSTEM_EVENT_RESET"],
    [SYSTEM_EVENTS.KVM_SYSTEM_EVENT_CRASH, "KVM_SYSTEM_EVENT_CRASH"],
    [42, "KVM_SYSTEM_EVENT_42"],
  ];
  for (const [type, typeName] of cases) {
    await t.step(typeName, () => {
      const h = harness();
      h.view.setUint32(KVM_RUN.system_event_type, type, true);
      const stop = h.dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_SYSTEM_EVENT);
      assert.deepEqual(stop, { kind: "system-event", type, typeName });
      assert.equal(describeStop(stop!), `guest system event (KVM_EXIT_SYSTEM_EVENT, ${typeName})`);
    });
  }
});

Deno.test("ExitDispatcher stops on an exit reason it does not handle, by name or number", () => {
  const { dispatcher } = harness();
  assert.deepEqual(dispatcher.dispatch(99), {
    kind: "unhandled-exit",
    exitReason: 99,
    exitName: "KVM_EXIT_99",
  });
  const stop = dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_DEBUG);
  assert.deepEqual(stop, { kind: "unhandled-exit", exitReason: 4, exitName: "KVM_EXIT_DEBUG" });
  assert.equal(describeStop(stop!), "unhandled exit (KVM_EXIT_DEBUG, reason 4)");
});

Deno.test("ExitStats counts exits by reason, port and address and formats the trace", () => {
  const h = harness();
  const { stats, view, dispatcher } = h;
  for (const reason of [2, 2, 2, 6, 5, 2]) stats.countExit(reason);
  assert.equal(stats.total, 6);
  assert.deepEqual([...stats.byReason].sort(), [[2, 4], [5, 1], [6, 1]]);
  view.setUint8(KVM_RUN.io_direction, KVM_EXIT_IO_OUT);
  view.setUint8(KVM_RUN.io_size, 1);
  view.setUint16(KVM_RUN.io_port, 0xf1, true);
  view.setUint32(KVM_RUN.io_count, 5, true);
  view.setBigUint64(KVM_RUN.io_data_offset, 0x100n, true);
  dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_IO);
  view.setBigUint64(KVM_RUN.mmio_phys_addr, 0xd000_0008n, true);
  view.setUint32(KVM_RUN.mmio_len, 4, true);
  view.setUint8(KVM_RUN.mmio_is_write, 0);
  dispatcher.dispatch(EXIT_REASONS.KVM_EXIT_MMIO);
  assert.equal(
    stats.format(),
    [
      "exits: 6",
      "  KVM_EXIT_IO: 4",
      "  KVM_EXIT_HLT: 1",
      "  KVM_EXIT_MMIO: 1",
      "  out 0x00f1: 5",
      "  mmio read  0xd0000008: 1",
      "  unclaimed port accesses: 5",
      "  unclaimed MMIO accesses: 1",
    ].join("\n"),
  );
});

Deno.test("ExitStats counts a bounded number of MMIO addresses one by one, the rest together", () => {
  // A guest sweeping MMIO once grew the maps by an entry per address until V8's Map limit
  // (2^24 entries) made run() throw a RangeError.
  const stats = new ExitStats();
  for (let i = 0; i < MMIO_ADDRESSES_TRACKED + 10; i++) stats.countMmio(false, 0xd000_0000 + 8 * i);
  stats.countMmio(false, 0xd000_0000); // a tracked address goes on counting
  stats.countMmio(true, 0xe000_0000); // writes have their own map
  assert.equal(stats.mmioReads.size, MMIO_ADDRESSES_TRACKED);
  assert.equal(stats.mmioReads.get(0xd000_0000), 2);
  assert.equal(stats.mmioWrites.get(0xe000_0000), 1);
  assert.equal(stats.mmioUntracked, 10);
  assert.match(stats.format(), /\n {2}mmio at further addresses \(not counted one by one\): 10\n/);
});
