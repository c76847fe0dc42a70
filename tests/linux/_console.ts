/**
 * A VMM process driven through its console: spawn with piped stdio, wait for text on stdout
 * (timed from the spawn), type a line, collect the end, kill it after a deadline.
 *
 * @module
 */

/** How a console process ended. */
export interface ConsoleEnd {
  /** Exit status (128 + N when killed by signal N). */
  code: number;
  /** Everything on stdout, as text. */
  stdout: string;
  /** Everything on stderr, as text, plus a note if the deadline killed the process. */
  stderr: string;
  /** Seconds from the spawn to the exit. */
  seconds: number;
  /** Whether the deadline killed it. */
  killed: boolean;
}

/** Options for {@link ConsoleProcess}. */
export interface ConsoleOptions {
  /** Kill the process (SIGKILL) after this many seconds; the end then says so. */
  killAfter: number;
  /** Working directory. */
  cwd?: string;
  /** Stdin is a pipe (default) or /dev/null. */
  stdin?: "piped" | "null";
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A spawned process whose stdout is watched as it arrives. */
export class ConsoleProcess {
  /** `performance.now()` just before the spawn. */
  readonly startedAt: number;
  /** Resolves when the process has exited and its output is read. */
  readonly ended: Promise<ConsoleEnd>;
  readonly #child: Deno.ChildProcess;
  readonly #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #done = false;
  #killed = false;
  readonly #waiters: { text: string; resolve: (ms: number) => void; reject: () => void }[] = [];

  /** Spawns `command args` with piped stdout and stderr. */
  constructor(command: string, args: string[], readonly options: ConsoleOptions) {
    this.startedAt = performance.now();
    this.#child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      stdin: options.stdin ?? "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if ((options.stdin ?? "piped") === "piped") this.#writer = this.#child.stdin.getWriter();
    const timer = setTimeout(() => this.kill(true), options.killAfter * 1000);
    this.ended = this.#collect(timer);
  }

  async #collect(timer: ReturnType<typeof setTimeout>): Promise<ConsoleEnd> {
    const stderr = new Response(this.#child.stderr).text();
    for await (const chunk of this.#child.stdout) {
      this.#stdout += decoder.decode(chunk, { stream: true });
      this.#notify();
    }
    this.#stdout += decoder.decode();
    const status = await this.#child.status;
    clearTimeout(timer);
    this.#done = true;
    this.#notify();
    await this.#writer?.close().catch(() => {});
    const note = this.#killed ? `[killed after ${this.options.killAfter} s]\n` : "";
    return {
      code: status.code,
      stdout: this.#stdout,
      stderr: await stderr + note,
      seconds: (performance.now() - this.startedAt) / 1000,
      killed: this.#killed,
    };
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  #notify(): void {
    for (const w of [...this.#waiters]) {
      if (this.#stdout.includes(w.text)) w.resolve(performance.now() - this.startedAt);
      else if (this.#done) w.reject();
      else continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
    }
  }

  /**
   * Resolves with the milliseconds from the spawn to the first time `text` is on stdout; rejects
   * if the process ends without printing it (the error holds stdout's tail).
   */
  waitFor(text: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({
        text,
        resolve,
        reject: () =>
          reject(
            new Error(`"${text}" never came on stdout; its end:\n${this.#stdout.slice(-3000)}`),
          ),
      });
      this.#notify();
    });
  }

  /** Writes `text` to stdin. */
  async write(text: string): Promise<void> {
    if (!this.#writer) throw new Error("stdin is not a pipe");
    await this.#writer.write(encoder.encode(text));
  }

  /** Kills the process (SIGKILL) if it is still running; `deadline` marks the end as killed. */
  kill(deadline = false): void {
    if (this.#done) return;
    if (deadline) this.#killed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
