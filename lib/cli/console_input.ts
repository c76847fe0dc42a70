/**
 * The terminal as the guest's serial console: raw mode while the VM runs (restored on every
 * exit path) and QEMU's escape sequences (Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A).
 *
 * @module
 */

/** Ctrl-A: starts an escape sequence, as in QEMU's `-nographic` console. */
export const ESCAPE = 0x01;
/** After Ctrl-A: quit microvmm. */
export const ESCAPE_QUIT = 0x78; // 'x'

/**
 * Filters a console byte stream for escapes: Ctrl-A x calls `onQuit` (the bytes are swallowed),
 * Ctrl-A Ctrl-A passes one Ctrl-A, Ctrl-A followed by anything else is dropped.
 *
 * @example
 * ```ts
 * import { EscapeFilter } from "./console_input.ts";
 * let quit = false;
 * const filter = new EscapeFilter(() => quit = true);
 * console.log(filter.filter(0x61), filter.filter(0x01), filter.filter(0x78), quit); // 97 null null true
 * ```
 */
export class EscapeFilter {
  readonly #onQuit: () => void;
  #pending = false;

  /** Calls `onQuit` when the user types Ctrl-A x. */
  constructor(onQuit: () => void) {
    this.#onQuit = onQuit;
  }

  /** Returns the byte to pass to the guest, or null when it was part of an escape. */
  filter(byte: number): number | null {
    if (this.#pending) {
      this.#pending = false;
      if (byte === ESCAPE) return ESCAPE;
      if (byte === ESCAPE_QUIT) this.#onQuit();
      return null;
    }
    if (byte === ESCAPE) {
      this.#pending = true;
      return null;
    }
    return byte;
  }
}

/** Wraps a byte source so escapes are handled before bytes reach the guest. */
export function escapedSource(
  source: () => number | null,
  filter: EscapeFilter,
): () => number | null {
  return () => {
    while (true) {
      const byte = source();
      if (byte === null) return null;
      const passed = filter.filter(byte);
      if (passed !== null) return passed;
    }
  };
}

/**
 * Puts stdin in raw mode when it is a terminal, so keys go to the guest unprocessed (Ctrl-C too).
 * Returns the function that restores the terminal; it is safe to call more than once, and is
 * also called at process exit (`unload`) as a last resort.
 */
export function enterRawMode(): () => void {
  if (!Deno.stdin.isTerminal()) return () => {};
  Deno.stdin.setRaw(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      Deno.stdin.setRaw(false);
    } catch {
      // The terminal went away (hangup): nothing left to restore.
    }
    globalThis.removeEventListener("unload", restore);
  };
  globalThis.addEventListener("unload", restore);
  return restore;
}
