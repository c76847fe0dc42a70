/**
 * The return to the event loop between run slices.
 *
 * @module
 */

/** Slices at least this long (ms) return through a 0 ms timer: its ~2-3 ms are ≤ 3 % of one. */
export const TIMER_TURN_MIN_SLICE_MS = 100;

/**
 * Returns to the event loop, so due timers, signal listeners and I/O callbacks run, and comes back
 * after them. Two ways, each where it is cheaper:
 * - `setTimeout(resolve, 0)` (~2-3 ms, Deno's timers are coarse) after long slices and after a
 *   slice that a signal cut short (`urgent`): in those milliseconds the listener of a signal that
 *   arrived while the vCPU ran nearly always gets its turn, which after one `setImmediate` it
 *   often does not (then it waits for the next slice's end).
 * - `setImmediate` (~0.05 ms) after short slices, where 2-3 ms would be 4-10 % of the vCPU's time.
 *   Its first use loads Deno's Node compatibility layer, ~6 ms here but ~190 ms under an emulated
 *   CPU (the nested test host), which is why long slices (the Linux console) avoid it.
 */
export function eventLoopTurn(sliceMs: number, urgent: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (urgent || sliceMs >= TIMER_TURN_MIN_SLICE_MS) setTimeout(resolve, 0);
    else setImmediate(resolve);
  });
}
