/**
 * `deno task bench:linux`: boot time to the init's marker, microvmm against QEMU (`-M microvm`,
 * KVM) on the same vmlinux, initramfs and quiet command line, on a full KVM (inside the nested
 * test host when this machine's KVM cannot boot Linux); prints a table, writes
 * `bench/out/linux_boot.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { DEFAULT_LINUX_CMDLINE } from "../lib/api/linux_vm.ts";
import { linuxAssets } from "../tests/linux/_assets.ts";
import { ConsoleProcess } from "../tests/linux/_console.ts";
import { buildTestInitramfs, INIT_MARKER } from "../tests/linux/_initramfs.ts";
import { KvmTrace, type VcpuTime } from "./_kvm_trace.ts";
import { summarize, type Summary } from "./_stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OUT = `${ROOT}bench/out/linux_boot.json`;
/** The line that carries the results out of the nested host (whose writes are discarded). */
const RESULT_TAG = "LINUX-BOOT-JSON ";
/** The same command line for both sides: microvmm's default plus `quiet`. */
export const BENCH_CMDLINE = `${DEFAULT_LINUX_CMDLINE} quiet`;
/** QEMU's machine, as the brief sets it. */
const QEMU_MACHINE = ["-M", "microvm,x-option-roms=off,rtc=on", "-cpu", "host", "-m", "256"];

const USAGE = `Usage: deno task bench:linux [--runs N] [--kill-after SECONDS]
Boots Debian's vmlinux + a busybox initramfs N times (default 3) with microvmm and with QEMU
(-enable-kvm -M microvm), alternating, and reports the time from process start to the init's
marker. Without a full KVM here (nested PVM) it runs itself inside tests/host/nested.ts.`;

/** Why this machine's KVM cannot boot Linux, or undefined on a full KVM. */
function noFullKvm(): string | undefined {
  const has = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  if (has("/sys/module/kvm_pvm")) return "this /dev/kvm is a nested PVM (kvm_pvm)";
  if (!has("/dev/kvm")) return "there is no /dev/kvm";
  return undefined;
}

/** One side's command: program and arguments. */
interface Side {
  name: "microvmm" | "QEMU";
  command: string;
  args: string[];
}

/** One boot: milliseconds from the spawn to the marker, and the vCPU's time where traced. */
interface Boot {
  ms: number;
  vcpu?: VcpuTime;
}

/** Spawns `side`, waits for the marker and kills it then; traces its vCPU if `trace` is given. */
async function boot(side: Side, killAfter: number, trace: KvmTrace | undefined): Promise<Boot> {
  trace?.markSpawn();
  const p = new ConsoleProcess(side.command, side.args, { killAfter, cwd: ROOT });
  try {
    const ms = await p.waitFor(INIT_MARKER);
    return { ms, vcpu: trace?.end(p.pid) };
  } catch (e) {
    const end = await p.ended;
    throw new Error(
      `${side.name}: no marker (status ${end.code}${end.killed ? ", killed" : ""}); stderr: ` +
        `${end.stderr.trim().slice(-500)}; ${(e as Error).message.slice(-1500)}`,
    );
  } finally {
    p.kill();
    await p.ended;
  }
}

/** The median of each of the traced boots' figures, or undefined if they were not traced. */
function vcpuMedians(boots: Boot[]): VcpuTime | undefined {
  if (boots.some((b) => b.vcpu === undefined)) return undefined;
  const median = (key: keyof VcpuTime) => summarize(boots.map((b) => b.vcpu![key])).median;
  return {
    startup: median("startup"),
    outside: median("outside"),
    outsideAfterUserspace: median("outsideAfterUserspace"),
    inside: median("inside"),
    exits: median("exits"),
    userspaceExits: median("userspaceExits"),
  };
}

/** The table of the traced vCPU time, both sides side by side. */
function vcpuTable(m: VcpuTime, q: VcpuTime): string[] {
  const row = (name: string, a: string, b: string) =>
    `${name.padEnd(44)} ${a.padStart(13)} ${b.padStart(13)}`;
  return [
    row("vCPU time from KVM tracepoints (s, medians)", "microvmm", "QEMU"),
    row("spawn → first KVM exit (VMM start-up)", seconds(m.startup), seconds(q.startup)),
    row("first exit → marker: outside the guest", seconds(m.outside), seconds(q.outside)),
    row(
      "  of which after exits to user space",
      seconds(m.outsideAfterUserspace),
      seconds(q.outsideAfterUserspace),
    ),
    row("first exit → marker: in the guest", seconds(m.inside), seconds(q.inside)),
    row(
      "KVM exits (to user space)",
      `${m.exits} (${m.userspaceExits})`,
      `${q.exits} (${q.userspaceExits})`,
    ),
  ];
}

/** Milliseconds to run a command to its end (for the warm-ups and the deno start figure). */
async function timed(command: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(command, { args, cwd: ROOT, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return performance.now() - t0;
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const load = () => Deno.loadavg().map((n) => n.toFixed(2)).join(" ");

/** Runs the benchmark here (on a full KVM) and returns the results. */
async function benchHere(runs: number, killAfter: number): Promise<Record<string, unknown>> {
  const assets = await linuxAssets();
  const dir = await Deno.makeTempDir({ prefix: "microvmm_bench_linux_" });
  try {
    const initrd = `${dir}/initrd.cpio.gz`;
    await Deno.writeFile(initrd, buildTestInitramfs(await Deno.readFile(assets.busybox)));
    const microvmmArgs = ["run", "--allow-ffi", "--allow-read", "--allow-env", `${ROOT}main.ts`];
    const sides: Side[] = [{
      name: "microvmm",
      command: Deno.execPath(),
      args: [...microvmmArgs, "--kernel", assets.vmlinux, "--initrd", initrd],
    }, {
      name: "QEMU",
      command: "qemu-system-x86_64",
      args: ["-enable-kvm", ...QEMU_MACHINE, "-nographic", "-no-reboot"],
    }];
    sides[0].args.push("--mem", "256M", "--cmdline", BENCH_CMDLINE);
    sides[1].args.push("-kernel", assets.vmlinux, "-initrd", initrd, "-append", BENCH_CMDLINE);
    const loadBefore = load();
    console.log(`linux boot bench: ${runs} runs per side, load average ${loadBefore}`);
    console.log(`  command line (both): ${BENCH_CMDLINE}`);
    // Warm the page cache and Deno's module cache; time Deno's own start for reference.
    await timed("qemu-system-x86_64", ["--version"]);
    const denoStart: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const ms = await timed(Deno.execPath(), [...microvmmArgs, "--version"]);
      if (i > 0) denoStart.push(ms);
    }
    const opened = KvmTrace.open();
    const trace = typeof opened === "string" ? undefined : opened;
    const boots: Record<Side["name"], Boot[]> = { microvmm: [], QEMU: [] };
    try {
      for (let round = 0; round < runs; round++) {
        // Alternate who goes first, so a change in load hits both alike.
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          const b = await boot(side, killAfter, trace);
          boots[side.name].push(b);
          console.log(
            `  round ${round + 1}: ${side.name.padEnd(8)} marker after ${seconds(b.ms)} s` +
              (b.vcpu ? ` (first KVM exit after ${seconds(b.vcpu.startup)} s)` : ""),
          );
        }
      }
    } finally {
      trace?.close();
    }
    const samples = {
      microvmm: boots.microvmm.map((b) => b.ms),
      QEMU: boots.QEMU.map((b) => b.ms),
    };
    const m = summarize(samples.microvmm);
    const q = summarize(samples.QEMU);
    const vcpu = { microvmm: vcpuMedians(boots.microvmm), qemu: vcpuMedians(boots.QEMU) };
    const ratio = m.median / q.median;
    const row = (name: string, s: Summary) =>
      `${name.padEnd(34)} ${seconds(s.min).padStart(7)} ${seconds(s.median).padStart(7)} ` +
      `${seconds(s.max).padStart(7)}`;
    console.log(
      [
        "",
        `${"process start → init marker (s)".padEnd(34)} ${"min".padStart(7)} ` +
        `${"median".padStart(7)} ${"max".padStart(7)}`,
        row("microvmm (deno run main.ts)", m),
        row("QEMU -enable-kvm -M microvm", q),
        row("deno start (main.ts --version)", summarize(denoStart)),
        "",
        `ratio microvmm / QEMU (medians): ${ratio.toFixed(2)} — goal < 1: ` +
        `${ratio < 1 ? "met" : "NOT MET"}`,
        `load average at the end: ${load()}`,
        "",
        ...(vcpu.microvmm && vcpu.qemu
          ? vcpuTable(vcpu.microvmm, vcpu.qemu)
          : [`(vCPU time from KVM tracepoints: not traced, ${opened})`]),
      ].join("\n"),
    );
    return {
      date: new Date().toISOString(),
      host: Deno.env.get("NESTED_HOST") === "1" ? "nested test host (QEMU TCG + SVM)" : "here",
      kernel: { vmlinux: assets.vmlinux, release: assets.release },
      cmdline: BENCH_CMDLINE,
      runs,
      microvmm: { command: ["deno", ...sides[0].args], ms: samples.microvmm, summary: m },
      qemu: { command: ["qemu-system-x86_64", ...sides[1].args], ms: samples.QEMU, summary: q },
      denoStartMs: { ms: denoStart, summary: summarize(denoStart) },
      vcpuTimeMs: trace ? { ...vcpu, boots } : `not traced: ${opened}`,
      ratio,
      goalMet: ratio < 1,
      loadAverage: { before: loadBefore, after: load() },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs this script inside the nested host and writes what it printed as the results. */
async function benchNested(args: string[], why: string): Promise<number> {
  console.error(`bench:linux: ${why}: running inside the nested full-KVM host`);
  await linuxAssets(); // fetched here: the nested host has no network
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-all", `${ROOT}tests/host/nested.ts`, "run", "--timeout=1800", "--"],
      ...[Deno.execPath(), "run", "--allow-all", `${ROOT}bench/linux_boot.ts`, ...args],
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let json: string | undefined;
  let rest = "";
  const decoder = new TextDecoder();
  const line = (text: string) => {
    const clean = text.replace(/\r$/, "");
    const at = clean.indexOf(RESULT_TAG);
    if (at >= 0) json = clean.slice(at + RESULT_TAG.length);
    else if (!/^\[ *\d+\.\d+\] /.test(clean)) console.log(clean); // not the host's kernel
  };
  for await (const chunk of child.stdout) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop()!;
    lines.forEach(line);
  }
  if (rest) line(rest);
  const status = await child.status;
  if (json === undefined) {
    console.error("bench:linux: no results came out of the nested host");
    return status.code || 1;
  }
  await Deno.mkdir(`${ROOT}bench/out`, { recursive: true });
  await Deno.writeTextFile(OUT, JSON.stringify(JSON.parse(json), null, 2) + "\n");
  console.log(`wrote ${OUT.slice(ROOT.length)}`);
  return status.code;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string", default: "3" },
      "kill-after": { type: "string", default: "180" },
      help: { type: "boolean", short: "h" },
    },
  });
  const runs = Number(values.runs);
  const killAfter = Number(values["kill-after"]);
  if (values.help || !Number.isInteger(runs) || runs < 1 || !(killAfter > 0)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const why = noFullKvm();
  if (why !== undefined) {
    if (Deno.env.get("NESTED_HOST") === "1") {
      throw new Error(`no full KVM in the nested host: ${why}`);
    }
    return await benchNested(args, why);
  }
  const results = await benchHere(runs, killAfter);
  if (Deno.env.get("NESTED_HOST") === "1") {
    console.log(RESULT_TAG + JSON.stringify(results));
  } else {
    await Deno.mkdir(`${ROOT}bench/out`, { recursive: true });
    await Deno.writeTextFile(OUT, JSON.stringify(results, null, 2) + "\n");
    console.log(`wrote ${OUT.slice(ROOT.length)}`);
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`bench:linux: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
