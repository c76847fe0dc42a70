/**
 * ConsoleSink: the guest's console output, line buffered and flushed before anything else is
 * printed, so no byte is lost when the VM dies.
 *
 * @module
 */

import { libc } from "../kvm/ffi.ts";

const CAPACITY = 4096;
const STDOUT_FD = 1;
const POLLOUT = 0x4;
const NEWLINE = 0x0a;

/**
 * Collects bytes from output devices and hands them to `writer` at each newline, when 4 KiB are
 * pending, and on `flush()`.
 *
 * @example
 * ```ts
 * import { ConsoleSink } from "./console_sink.ts";
 * const chunks: string[] = [];
 * const sink = new ConsoleSink((bytes) => chunks.push(new TextDecoder().decode(bytes)));
 * for (const byte of new TextEncoder().encode("Hi\nthere")) sink.put(byte);
 * sink.flush();
 * console.log(chunks); // [ "Hi\n", "there" ]
 * ```
 */
export class ConsoleSink {
  readonly #writer: (bytes: Uint8Array) => void;
  readonly #buffer = new Uint8Array(CAPACITY);
  #length = 0;
  /** Bytes the guest has written in total. */
  written = 0;

  readonly #eager: boolean;

  /**
   * Sends output to `writer`, which must consume the bytes before returning. With `eager`, every
   * byte is written at once (an interactive terminal: echo and prompts must not wait for a newline
   * or the run slice's end).
   */
  constructor(writer: (bytes: Uint8Array) => void, eager = false) {
    this.#writer = writer;
    this.#eager = eager;
  }

  /** Adds one byte of guest output. */
  put(byte: number): void {
    this.#buffer[this.#length++] = byte;
    this.written++;
    if (this.#eager || byte === NEWLINE || this.#length === CAPACITY) this.flush();
  }

  /** Hands every pending byte to the writer. */
  flush(): void {
    if (this.#length === 0) return;
    const pending = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    this.#writer(pending);
  }
}

/**
 * A writer for {@link ConsoleSink} that writes everything to a Deno file (stdout by default),
 * handling partial writes. A non-blocking file (another program set O_NONBLOCK on a shared
 * pipe) that is full is waited for with `waitWritable` (default: poll(2) on stdout), as a
 * blocking write would. When writing fails (the reader went away, the disk is full), the guest
 * keeps running and its further output is dropped; any failure but a broken pipe is reported
 * once through `warn` (default: one line on stderr).
 */
export function fileWriter(
  file: { writeSync(p: Uint8Array): number } = Deno.stdout,
  warn: (line: string) => void = (line) => console.error(line),
  waitWritable: () => void = () => waitUntilWritable(STDOUT_FD),
): (bytes: Uint8Array) => void {
  let broken = false;
  return (bytes) => {
    if (broken) return;
    try {
      for (let done = 0; done < bytes.length;) {
        try {
          done += file.writeSync(bytes.subarray(done));
        } catch (error) {
          if (!(error instanceof Deno.errors.WouldBlock)) throw error;
          waitWritable();
        }
      }
    } catch (error) {
      broken = true;
      if (!(error instanceof Deno.errors.BrokenPipe)) {
        warn(
          `microvmm: cannot write guest output (${(error as Error).message}); dropping the rest`,
        );
      }
    }
  };
}

/** Blocks until `fd` can take a write (or reports an error, which the next write then gives). */
function waitUntilWritable(fd: number): void {
  const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLOUT, true);
  libc().poll(pollfd, 1n, -1);
}
