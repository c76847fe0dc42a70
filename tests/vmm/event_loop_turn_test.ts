import assert from "node:assert/strict";
import { eventLoopTurn, TIMER_TURN_MIN_SLICE_MS } from "../../lib/vmm/event_loop_turn.ts";

/** Spins for `ms` milliseconds without returning to the event loop (a blocking KVM_RUN). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

const KINDS = [
  { name: "after a short slice", sliceMs: 20, urgent: false },
  { name: "after a long slice", sliceMs: TIMER_TURN_MIN_SLICE_MS, urgent: false },
  { name: "after a slice cut short by a signal", sliceMs: 20, urgent: true },
];

Deno.test("eventLoopTurn: one turn runs a timer that fell due while the thread was busy", async (t) => {
  for (const kind of KINDS) {
    await t.step(kind.name, async () => {
      for (let round = 0; round < 20; round++) {
        let fired = false;
        const timer = setTimeout(() => fired = true, 0);
        busy(3);
        await eventLoopTurn(kind.sliceMs, kind.urgent);
        clearTimeout(timer);
        assert.equal(fired, true, `round ${round}: the due timer had not run after the turn`);
      }
    });
  }
});
