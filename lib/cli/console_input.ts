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

/** How many typed bytes wait for the guest at most; then stdin is left unread, as in QEMU. */
export const INPUT_QUEUE_LIMIT = 4096;

/**
 * Console input with escapes handled on the host side: {@link pump} reads what the source has
 * now, acts on escapes at once and queues the other bytes; {@link next} hands them to the guest.
 * So Ctrl-A x works even while the guest reads nothing (wedged, or still booting with its UART's
 * receive buffer full), which filtering bytes only as the UART takes them did not.
 *
 * @example
 * ```ts
 * import { EscapeFilter, EscapedInput } from "./console_input.ts";
 * const typed = [0x61, 0x01, 0x78];
 * let quit = false;
 * const input = new EscapedInput(() => typed.shift() ?? null, new EscapeFilter(() => quit = true));
 * input.pump(); // the guest has taken nothing yet
 * console.log(quit, input.next(), input.next()); // true 97 null
 * ```
 */
export class EscapedInput {
  readonly #source: () => number | null;
  readonly #filter: EscapeFilter;
  #queue: number[] = [];
  #head = 0;

  /** Reads bytes from `source` (non-blocking), escapes handled by `filter`. */
  constructor(source: () => number | null, filter: EscapeFilter) {
    this.#source = source;
    this.#filter = filter;
  }

  /** Reads every byte the source has now (up to the queue's limit), handling escapes. */
  pump(): void {
    // Drop what the guest took: the array never holds more than the limit plus one pump's bytes.
    if (this.#head > 0) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    while (this.#queue.length - this.#head < INPUT_QUEUE_LIMIT) {
      const byte = this.#source();
      if (byte === null) return;
      const passed = this.#filter.filter(byte);
      if (passed !== null) this.#queue.push(passed);
    }
  }

  /** The next byte for the guest, or null when none is waiting (pumps first when empty). */
  readonly next = (): number | null => {
    if (this.#head === this.#queue.length) this.pump();
    return this.#head < this.#queue.length ? this.#queue[this.#head++] : null;
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
