/**
 * The return to the event loop between run slices.
 *
 * @module
 */

/** Slices at least this long (ms) return through a 0 ms timer: its ~2 ms are ≤ 2 % of one. */
export const TIMER_TURN_MIN_SLICE_MS = 100;

/**
 * Returns to the event loop, so due timers, signal listeners and I/O callbacks run, and comes back
 * after them. Two ways, each where it is cheaper:
 * - a 0 ms timer (~2 ms: Deno's timers are coarse) after long slices and after a slice that a
 *   signal cut short (`urgent`): in those milliseconds the listener of a signal that arrived while
 *   the vCPU ran nearly always gets its turn, which after one `setImmediate` it often does not
 *   (then it waits for the next slice's end). The timer is `AbortSignal.timeout`, a web API: in
 *   Deno 2.9 the first `setTimeout` or `setImmediate` loads the Node compatibility layer (~6 ms
 *   here, ~190 ms under the nested test host's emulated CPU, with the vCPU stopped).
 * - `setImmediate` (~0.01 ms) after short slices, where 2 ms would be 10 % of the vCPU's time; the
 *   Node layer is loaded once, by the first such turn.
 */
export function eventLoopTurn(sliceMs: number, urgent: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (urgent || sliceMs >= TIMER_TURN_MIN_SLICE_MS) {
      AbortSignal.timeout(0).addEventListener("abort", () => resolve(), { once: true });
    } else {
      setImmediate(resolve);
    }
  });
}
