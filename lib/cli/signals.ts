/**
 * Signals during a run: SIGINT, SIGTERM and SIGHUP stop the VM cleanly (the caller restores the
 * terminal and exits 128+N); a second SIGINT while stopping force-quits.
 *
 * @module
 */

/** The signals microvmm stops on, with their numbers (x86-64 Linux). */
export const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** One of {@link STOP_SIGNALS}. */
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Listens for the stop signals while a run is in progress: each calls `stop`, and the second
 * SIGINT (whatever came between, e.g. a SIGTERM first) calls `forceQuit` before it. The returned
 * object says which signal came first (if any) and removes the listeners when disposed.
 */
export function watchStopSignals(stop: () => void, forceQuit: () => void): {
  readonly received: StopSignal | undefined;
} & Disposable {
  let received: StopSignal | undefined;
  let sigints = 0;
  const listeners = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((signal) => {
    const listener = () => {
      if (signal === "SIGINT" && ++sigints > 1) forceQuit();
      received ??= signal;
      stop();
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return {
    get received() {
      return received;
    },
    [Symbol.dispose]() {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    },
  };
}
