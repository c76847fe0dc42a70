/**
 * Reads the nested host's serial console: the `NESTED-RESULT` and `NESTED-STAGE` lines the guest
 * init prints, kernel panics, and the verdict that becomes the exit status.
 * @module
 */

/** Exit status when the run timed out. */
export const EXIT_TIMEOUT = 124;
/** Exit status when the host itself failed (panic, no result line, QEMU error, init failure). */
export const EXIT_HOST_FAILURE = 125;

/** A parsed result line. */
export interface ResultLine {
  /** The command's exit status (0-255). */
  status: number;
  /** Why the init gave up before or instead of the command, if it did. */
  reason?: string;
}

/**
 * Parses `NESTED-RESULT nonce=<nonce> status=<n> [reason=<word>]`; returns undefined for any
 * other line and for a result line with another nonce. Console noise around it is tolerated.
 */
export function parseResultLine(line: string, nonce: string): ResultLine | undefined {
  const m = line.match(/NESTED-RESULT nonce=([A-Za-z0-9]+) status=(\d{1,3})(?: reason=(\S+))?\s*$/);
  if (!m || m[1] !== nonce) return undefined;
  const status = Number(m[2]);
  if (status > 255) return undefined;
  return m[3] === undefined ? { status } : { status, reason: m[3] };
}

/** Parses `NESTED-STAGE <name> uptime=<seconds>`; returns undefined for other lines. */
export function parseStageLine(line: string): { stage: string; uptime: number } | undefined {
  const m = line.match(/NESTED-STAGE (\w+) uptime=([\d.]+)\s*$/);
  return m ? { stage: m[1], uptime: Number(m[2]) } : undefined;
}

/**
 * Whether a console line reports a kernel panic, or an oops or BUG in a kernel log line
 * (`[  12.345678] ...`, so that a command's own output can't look like one).
 */
export function isPanicLine(line: string): boolean {
  return /Kernel panic - not syncing/.test(line) ||
    /^\[\s*\d+\.\d+\] .*(BUG: |Oops: |general protection fault)/.test(line);
}

/**
 * Splits a byte stream into lines at `\n`, dropping the `\r` of `\r\n` (a `\r` inside a line is
 * kept, for a terminal to redraw the line), and keeps a partial last line for the next push.
 */
export class LineSplitter {
  #partial = "";
  #decoder = new TextDecoder();

  /** Feeds bytes; returns the lines completed by them. */
  push(bytes: Uint8Array): string[] {
    const text = this.#partial + this.#decoder.decode(bytes, { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop()!;
    return parts.map((l) => l.replace(/\r+$/, ""));
  }

  /** Returns the unterminated last line, if any. */
  flush(): string[] {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = "";
    return rest === "" ? [] : [rest.replace(/\r+$/, "")];
  }
}

/** Everything learnt from the console of one run. */
export class ConsoleWatch {
  /** The result line, once seen. */
  result: ResultLine | undefined;
  /** The first panic line, once seen. */
  panic: string | undefined;
  /** Host time (ms, from `performance.now()`) at which each stage line arrived. */
  readonly stages: Map<string, number> = new Map();
  #tail: string[] = [];

  /** The token the result line must carry. */
  readonly nonce: string;
  /** How many lines `tail()` keeps. */
  readonly keep: number;

  /** Watches for the result line carrying `nonce`, keeping the last `keep` lines. */
  constructor(nonce: string, keep = 40) {
    this.nonce = nonce;
    this.keep = keep;
  }

  /** Records one console line. */
  line(line: string, now: number = performance.now()): void {
    this.#tail.push(line);
    if (this.#tail.length > this.keep) this.#tail.shift();
    const stage = parseStageLine(line);
    if (stage) this.stages.set(stage.stage, now);
    this.result ??= parseResultLine(line, this.nonce);
    if (this.panic === undefined && isPanicLine(line)) this.panic = line.trim();
  }

  /** The last lines seen. */
  tail(): string[] {
    return [...this.#tail];
  }
}

/** How a run ended, from the host's side. */
export interface RunEnd {
  /** The console watch of the run. */
  watch: ConsoleWatch;
  /** Whether the overall timeout killed QEMU. */
  timedOut: boolean;
  /** QEMU's exit code (undefined if it was killed). */
  qemuCode: number | undefined;
  /** The timeout, in seconds, for the message. */
  timeoutSeconds: number;
}

/** The exit status and a one-line summary of a run; only a result line can give status 0. */
export function verdict(end: RunEnd): { code: number; ok: boolean; message: string } {
  const { watch } = end;
  if (end.timedOut) {
    const where = watch.stages.has("mounted") ? "while running the command" : "while booting";
    return {
      code: EXIT_TIMEOUT,
      ok: false,
      message: `timed out after ${end.timeoutSeconds}s ${where}`,
    };
  }
  if (watch.panic !== undefined) {
    return { code: EXIT_HOST_FAILURE, ok: false, message: `kernel panic: ${watch.panic}` };
  }
  const r = watch.result;
  if (r === undefined) {
    const how = end.qemuCode === undefined ? "was killed" : `exited ${end.qemuCode}`;
    return { code: EXIT_HOST_FAILURE, ok: false, message: `no result line (QEMU ${how})` };
  }
  if (r.reason !== undefined) {
    return { code: EXIT_HOST_FAILURE, ok: false, message: `host init failed: ${r.reason}` };
  }
  if (r.status !== 0) {
    return { code: r.status, ok: false, message: `command exited ${r.status}` };
  }
  return { code: 0, ok: true, message: "command exited 0" };
}
