/**
 * Every StopReason kind: its exit status (`statusOf`), whether it is a crash (`isCrash`), and
 * its one-line description (`describeStop`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { describeStop, isCrash, type StopReason } from "../../lib/vmm/stop_reason.ts";
import { EXIT_STATUS, statusOf } from "../../lib/vmm/exit_status.ts";

/** One row per kind (and per system-event flavour): stop, status, crash, description. */
const TABLE: [StopReason, number, boolean, string][] = [
  [{ kind: "hlt" }, 0, false, "guest halted (KVM_EXIT_HLT)"],
  [{ kind: "exit-device", status: 0 }, 0, false, "guest exited with status 0"],
  [{ kind: "exit-device", status: 42 }, 42, false, "guest exited with status 42"],
  [{ kind: "exit-device", status: 255 }, 255, false, "guest exited with status 255"],
  [{ kind: "reset" }, 0, false, "guest requested a reset (i8042 reset line)"],
  [{ kind: "shutdown" }, 1, true, "guest triple-faulted (KVM_EXIT_SHUTDOWN)"],
  [
    {
      kind: "internal-error",
      suberror: 1,
      suberrorName: "KVM_INTERNAL_ERROR_EMULATION",
      data: [],
    },
    1,
    true,
    "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)",
  ],
  [
    {
      kind: "internal-error",
      suberror: 1,
      suberrorName: "KVM_INTERNAL_ERROR_EMULATION",
      data: [1n],
      instruction: Uint8Array.of(0xff, 0xe0, 0x0a),
    },
    1,
    true,
    "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)" +
    "; instruction bytes: ff e0 0a",
  ],
  [
    { kind: "fail-entry", hardwareReason: 0x80000021n, cpu: 0 },
    1,
    true,
    "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x80000021, cpu 0)",
  ],
  [
    { kind: "system-event", type: 1, typeName: "KVM_SYSTEM_EVENT_SHUTDOWN" },
    0,
    false,
    "guest system event (KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN)",
  ],
  [
    { kind: "system-event", type: 2, typeName: "KVM_SYSTEM_EVENT_RESET" },
    0,
    false,
    "guest system event (KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET)",
  ],
  [
    { kind: "system-event", type: 3, typeName: "KVM_SYSTEM_EVENT_CRASH" },
    1,
    true,
    "guest system event (KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH)",
  ],
  [{ kind: "timeout" }, 124, false, "guest timed out"],
  [{ kind: "aborted" }, 130, false, "run aborted"],
  [
    { kind: "unhandled-exit", exitReason: 99, exitName: "KVM_EXIT_99" },
    1,
    true,
    "unhandled exit (KVM_EXIT_99, reason 99)",
  ],
];

Deno.test("statusOf(), isCrash() and describeStop() cover every kind", async (t) => {
  for (const [stop, status, crash, text] of TABLE) {
    await t.step(text, () => {
      assert.equal(statusOf(stop), status, "status");
      assert.equal(isCrash(stop), crash, "crash");
      assert.equal(describeStop(stop), text, "description");
    });
  }
  const kinds = new Set(TABLE.map(([stop]) => stop.kind));
  assert.equal(kinds.size, 10, "the table covers all ten kinds");
});

Deno.test("EXIT_STATUS names the documented exit codes", () => {
  assert.deepEqual({ ...EXIT_STATUS }, {
    OK: 0,
    GUEST_CRASH: 1,
    USAGE: 2,
    KVM_UNAVAILABLE: 3,
    TIMEOUT: 124,
    ABORTED: 130,
  });
});
