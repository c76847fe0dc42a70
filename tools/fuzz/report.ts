/**
 * Fuzz bookkeeping: the tally of end reasons and failures, the `--report` text and Markdown, and
 * saving a failing image with the command that replays it.
 *
 * @module
 */

import { CPU_MODES } from "../../mod.ts";
import type { FuzzImage } from "./generator.ts";
import { type Outcome, replayCommand, ROOT } from "./runner.ts";

/** Where failing images go (bench/out is git-ignored). */
export const FAILURE_DIR = "bench/out/fuzz-failures";

/** The failure categories that count as crashes of microvmm (everything but hangs). */
export const CRASH_CATEGORIES = [
  "exception",
  "signal",
  "internal-error",
  "bad-status",
  "unnamed-end",
] as const;

/**
 * Writes `image` to `bench/out/fuzz-failures/<seed>-<index>-<mode>.bin` with a `.txt` beside it
 * (what failed, the replay commands); returns the lines to print.
 */
export function saveFailure(image: FuzzImage, timeout: number, what: string): string[] {
  const name = `${FAILURE_DIR}/${image.seed}-${image.index}-${image.mode}`;
  Deno.mkdirSync(`${ROOT}${FAILURE_DIR}`, { recursive: true });
  Deno.writeFileSync(`${ROOT}${name}.bin`, image.bytes);
  const lines = [
    `fuzz FAILURE: seed ${image.seed} image ${image.index} (${image.mode}, ${image.kind}, ` +
    `${image.bytes.length} bytes, RAM ${image.memSize}): ${what}`,
    `  saved ${name}.bin; replay from the repository root with:`,
    `  ${replayCommand(image, timeout, `${name}.bin`)}`,
    `  or: deno task fuzz --seed ${image.seed} --start ${image.index} --count 1 --mode ${image.mode}`,
  ];
  Deno.writeTextFileSync(`${ROOT}${name}.txt`, lines.join("\n") + "\n");
  return lines;
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function list(map: Map<string, number>): string {
  const entries = [...map].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? "none" : entries.map(([k, n]) => `${k} ${n}`).join(", ");
}

/** What a campaign ran and how each image ended. */
export class Tally {
  /** Images run. */
  images = 0;
  /** Images per mode. */
  readonly modes: Map<string, number> = new Map();
  /** Images per end reason. */
  readonly ends: Map<string, number> = new Map();
  /** Images per mode and end reason. */
  readonly endsByMode: Map<string, Map<string, number>> = new Map();
  /** Images per image kind (random, valid, mutated). */
  readonly kinds: Map<string, number> = new Map();
  /** Failures per category. */
  readonly categories: Map<string, number> = new Map();
  /** The failing outcomes. */
  readonly failures: Outcome[] = [];
  /** The longest a run went past its timeout, in seconds (0 if none did). */
  maxOverrun = 0;
  /** Which image that was. */
  maxOverrunImage = "";
  /** Late runs whose rerun was in time (see {@link addLate}). */
  lateReruns = 0;
  /** The longest run, in seconds. */
  maxSeconds = 0;
  /** Seconds since the tally started (set by {@link finish}). */
  elapsed = 0;
  readonly #start = performance.now();

  /** Creates a tally for runs with `timeout` seconds, in-process or through the CLI. */
  constructor(readonly timeout: number, readonly cli: boolean, readonly seed: number) {}

  /** Counts one outcome. */
  add(outcome: Outcome): void {
    const { image } = outcome;
    this.images++;
    increment(this.modes, image.mode);
    increment(this.kinds, image.kind);
    increment(this.ends, outcome.end);
    if (!this.endsByMode.has(image.mode)) this.endsByMode.set(image.mode, new Map());
    increment(this.endsByMode.get(image.mode)!, outcome.end);
    if (outcome.category) {
      increment(this.categories, outcome.category);
      this.failures.push(outcome);
    }
    const overrun = outcome.seconds - this.timeout;
    if (overrun > this.maxOverrun) {
      this.maxOverrun = overrun;
      this.maxOverrunImage = `${image.seed}-${image.index}-${image.mode}`;
    }
    this.maxSeconds = Math.max(this.maxSeconds, outcome.seconds);
  }

  /**
   * Notes a run that ended past the margin but not on its rerun: host noise (nested KVM is
   * jittery). It still counts in {@link maxOverrun}; the rerun's outcome is added instead.
   */
  addLate(outcome: Outcome): void {
    this.lateReruns++;
    this.maxSeconds = Math.max(this.maxSeconds, outcome.seconds);
    const overrun = outcome.seconds - this.timeout;
    if (overrun > this.maxOverrun) {
      this.maxOverrun = overrun;
      this.maxOverrunImage = `${outcome.image.seed}-${outcome.image.index}-${outcome.image.mode}`;
    }
  }

  /** Crashes of microvmm: exceptions, signal deaths, internal errors, bad statuses. */
  get crashes(): number {
    return CRASH_CATEGORIES.reduce((sum, c) => sum + (this.categories.get(c) ?? 0), 0);
  }

  /** Runs that overran their timeout by more than the margin or never ended. */
  get hangs(): number {
    return this.categories.get("hang") ?? 0;
  }

  /** Stops the clock. */
  finish(): this {
    this.elapsed = (performance.now() - this.#start) / 1000;
    return this;
  }

  /** The modes seen, in CPU_MODES order. */
  #modeOrder(): string[] {
    return (CPU_MODES as readonly string[]).filter((mode) => this.endsByMode.has(mode));
  }

  /** The `--report` text. */
  format(): string {
    const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
    const rate = this.elapsed > 0 ? (this.images / this.elapsed).toFixed(1) : "-";
    const crashDetail = CRASH_CATEGORIES.map((c) => `${c} ${this.categories.get(c) ?? 0}`);
    const lines = [
      `fuzz report: seed ${this.seed}, ${this.cli ? "through the CLI" : "in-process (Vm API)"}, ` +
      `timeout ${this.timeout} s`,
      `images run:     ${this.images} (${list(this.modes)}; ${list(this.kinds)}) in ` +
      `${this.elapsed.toFixed(1)} s, ${rate} images/s`,
      `end reasons:    ${list(this.ends)}`,
      ...this.#modeOrder().map((mode) =>
        `  ${(mode + ":").padEnd(13)} ${list(this.endsByMode.get(mode)!)}`
      ),
      `crashes:        ${this.crashes} (${crashDetail.join(", ")})`,
      `hangs:          ${this.hangs}` +
      (this.lateReruns ? ` (${this.lateReruns} late run(s) were in time when rerun)` : ""),
      `max overrun past timeout: ${ms(this.maxOverrun)}` +
      (this.maxOverrunImage ? ` (image ${this.maxOverrunImage})` : "") +
      `; longest run ${ms(this.maxSeconds)}`,
    ];
    return lines.join("\n");
  }

  /** The report as a Markdown section with a table of end reasons by mode. */
  markdown(command: string): string {
    const modes = this.#modeOrder();
    const ends = [...this.ends.keys()].sort((a, b) => this.ends.get(b)! - this.ends.get(a)!);
    const row = (cells: (string | number)[]) =>
      `| ${cells.map((c) => `${c}`.replaceAll("|", "\\|")).join(" | ")} |`;
    const table = [
      row(["end reason", ...modes, "total"]),
      row(["---", ...modes.map(() => "---:"), "---:"]),
      ...ends.map((end) =>
        row([end, ...modes.map((m) => this.endsByMode.get(m)!.get(end) ?? 0), this.ends.get(end)!])
      ),
      row(["**images**", ...modes.map((m) => this.modes.get(m) ?? 0), this.images]),
    ];
    return [
      `### ${this.cli ? "Through the CLI" : "In-process (Vm API)"}`,
      "",
      "```",
      `$ ${command}`,
      this.format(),
      "```",
      "",
      ...table,
      "",
    ].join("\n");
  }
}
