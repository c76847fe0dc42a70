/**
 * Where a VMM's boot time goes, from the host kernel's KVM tracepoints (ftrace): how long after
 * the spawn the guest first runs, and how long the vCPU then spends outside the guest (exits
 * handled in the kernel or in the VMM's user space) against inside it. Exact where wall-clock
 * figures are noisy, and the same measure for both VMMs. Needs root and tracefs; unavailable
 * elsewhere (the bench then says so).
 *
 * @module
 */

const TRACEFS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
const EVENTS = ["kvm/kvm_entry", "kvm/kvm_exit", "kvm/kvm_userspace_exit"];
const SPAWN_MARK = "bench-spawn";
const END_MARK = "bench-end";

/** One boot's breakdown, in milliseconds. */
export interface VcpuTime {
  /** From the spawn to the guest's first KVM exit (the VMM's own start-up). */
  startup: number;
  /** From the first exit to the end mark: the vCPU outside the guest. */
  outside: number;
  /** The part of `outside` after exits that went to the VMM's user space. */
  outsideAfterUserspace: number;
  /** From the first exit to the end mark: the vCPU in the guest. */
  inside: number;
  /** KVM exits, and those that went to user space. */
  exits: number;
  userspaceExits: number;
}

/** A session of KVM tracing; `undefined` from {@link KvmTrace.open} where it cannot be had. */
export class KvmTrace {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Starts tracing KVM entries and exits, or returns why it cannot. */
  static open(): KvmTrace | string {
    if (Deno.uid() !== 0) return "needs root";
    // Mounted only in the nested test host (thrown away after the run), never on a user's host.
    if (Deno.env.get("NESTED_HOST") === "1") mountTracefs();
    for (const dir of TRACEFS) {
      try {
        Deno.statSync(`${dir}/trace_marker`);
      } catch {
        continue;
      }
      try {
        const trace = new KvmTrace(dir);
        trace.#write("tracing_on", "0");
        trace.#write("buffer_size_kb", "32768");
        trace.#write("options/record-tgid", "1");
        for (const event of EVENTS) trace.#write(`events/${event}/enable`, "1");
        return trace;
      } catch (e) {
        return `cannot set up ftrace in ${dir}: ${(e as Error).message}`;
      }
    }
    return `no tracefs at ${TRACEFS.join(" or ")}`;
  }

  #write(file: string, text: string): void {
    Deno.writeTextFileSync(`${this.#dir}/${file}`, text);
  }

  /** Clears the buffer, starts tracing and marks the spawn: call right before spawning. */
  markSpawn(): void {
    this.#write("trace", "");
    this.#write("tracing_on", "1");
    this.#write("trace_marker", SPAWN_MARK);
  }

  /** Marks the end (the init's marker seen), stops tracing and sums the vCPU time of `pid`. */
  end(pid: number): VcpuTime {
    this.#write("trace_marker", END_MARK);
    this.#write("tracing_on", "0");
    return vcpuTime(Deno.readTextFileSync(`${this.#dir}/trace`), pid);
  }

  /** Turns the events off again. */
  close(): void {
    for (const event of EVENTS) this.#write(`events/${event}/enable`, "0");
    this.#write("trace", "");
  }
}

/** Mounts tracefs where the nested test host's minimal init has not. */
function mountTracefs(): void {
  try {
    Deno.statSync(`${TRACEFS[0]}/trace_marker`);
  } catch {
    try {
      new Deno.Command("mount", { args: ["-t", "tracefs", "nodev", TRACEFS[0]], stderr: "null" })
        .outputSync();
    } catch {
      // No mount(8): open() then says there is no tracefs.
    }
  }
}

/** `comm-tid (tgid) [cpu] flags seconds: event: details` (with options/record-tgid). */
const LINE = /^\s*.+?-\d+\s+\(\s*(\d+|-+)\)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(\w+):\s*(.*)$/;

/** Sums the vCPU time of process `pid` (its tgid) in the text of a trace; exported for tests. */
export function vcpuTime(trace: string, pid: number): VcpuTime {
  let spawn: number | undefined;
  let end: number | undefined;
  let firstExit: number | undefined;
  let lastExit: number | undefined;
  let lastEntry: number | undefined;
  let userspace = false;
  const t: VcpuTime = {
    startup: NaN,
    outside: 0,
    outsideAfterUserspace: 0,
    inside: 0,
    exits: 0,
    userspaceExits: 0,
  };
  for (const line of trace.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, tgid, time, event, details] = m;
    const at = Number(time) * 1000;
    if (event === "tracing_mark_write") {
      if (details.startsWith(SPAWN_MARK)) spawn = at;
      else if (details.startsWith(END_MARK)) end = at;
      continue;
    }
    if (Number(tgid) !== pid || end !== undefined) continue;
    if (event === "kvm_exit") {
      firstExit ??= at;
      t.exits++;
      if (lastEntry !== undefined) t.inside += at - lastEntry;
      lastExit = at;
      lastEntry = undefined;
      userspace = false;
    } else if (event === "kvm_userspace_exit") {
      t.userspaceExits++;
      userspace = true;
    } else if (event === "kvm_entry" && lastExit !== undefined) {
      t.outside += at - lastExit;
      if (userspace) t.outsideAfterUserspace += at - lastExit;
      lastEntry = at;
      lastExit = undefined;
    }
  }
  // Up to the end mark: where the vCPU was then.
  if (end !== undefined && lastEntry !== undefined) t.inside += end - lastEntry;
  if (end !== undefined && lastExit !== undefined) {
    t.outside += end - lastExit;
    if (userspace) t.outsideAfterUserspace += end - lastExit;
  }
  if (spawn === undefined || firstExit === undefined) {
    throw new Error(
      `the KVM trace has no ${spawn === undefined ? "spawn mark" : "exit"} of ${pid}`,
    );
  }
  t.startup = firstExit - spawn;
  return t;
}
