/**
 * The watchdog's worker thread: polls the shared deadline and, past it, saves the stuck image and
 * kills the whole process (the main thread cannot be interrupted from JavaScript).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { generateImage } from "./generator.ts";
import { saveFailure } from "./report.ts";
import { modeAt, SLOT, type WatchdogStart } from "./watchdog.ts";

self.onmessage = (event: MessageEvent<WatchdogStart>) => {
  const state = new Float64Array(event.data.shared);
  setInterval(() => {
    const deadline = state[SLOT.deadline];
    if (deadline === 0 || Date.now() < deadline) return;
    const image = generateImage(state[SLOT.seed], state[SLOT.index], modeAt(state[SLOT.mode]));
    const timeout = state[SLOT.timeout];
    const lines = saveFailure(image, timeout, `hang: the run did not return (watchdog)`);
    console.error(lines.join("\n"));
    try {
      Deno.kill(Deno.pid, "SIGKILL");
    } catch (error) {
      console.error(`fuzz watchdog: cannot kill the stuck process (${error}); kill it yourself`);
      state[SLOT.deadline] = 0;
    }
  }, 250);
};
