/**
 * Watchdog for in-process fuzzing: a worker thread that notices a run stuck past its deadline
 * (the main thread blocked in KVM_RUN or a handler), saves the image and kills the process.
 *
 * @module
 */

import { CPU_MODES, type CpuMode } from "../../mod.ts";
import type { FuzzImage } from "./generator.ts";

/** Slots of the shared state: deadline (Date.now() ms, 0 = idle), seed, index, mode, timeout. */
export const SLOT = { deadline: 0, seed: 1, index: 2, mode: 3, timeout: 4 } as const;

/** The message the worker gets first: the shared state. */
export interface WatchdogStart {
  /** Five float64 slots, see {@link SLOT}. */
  shared: SharedArrayBuffer;
}

/**
 * Arms a deadline before each run and disarms it after. If a run is still going `grace` seconds
 * after its timeout, the worker writes the image to bench/out/fuzz-failures, prints the seed,
 * the index and the replay command, and kills the process with SIGKILL (a hang is a bug).
 */
export class Watchdog implements Disposable {
  readonly #state = new Float64Array(new SharedArrayBuffer(5 * 8));
  readonly #worker: Worker;
  readonly #grace: number;

  /** Starts the worker; `grace` is how long past a timeout counts as stuck. */
  constructor(grace = 10) {
    this.#grace = grace;
    this.#worker = new Worker(new URL("./watchdog_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.postMessage({ shared: this.#state.buffer } satisfies WatchdogStart);
  }

  /** Watches the run of `image` with `timeout` seconds, starting now. */
  arm(image: FuzzImage, timeout: number): void {
    const state = this.#state;
    state[SLOT.seed] = image.seed;
    state[SLOT.index] = image.index;
    state[SLOT.mode] = CPU_MODES.indexOf(image.mode);
    state[SLOT.timeout] = timeout;
    state[SLOT.deadline] = Date.now() + (timeout + this.#grace) * 1000;
  }

  /** The run ended. */
  disarm(): void {
    this.#state[SLOT.deadline] = 0;
  }

  /** Stops the worker. */
  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

/** The mode stored in the shared state. */
export function modeAt(index: number): CpuMode {
  return CPU_MODES[index];
}
