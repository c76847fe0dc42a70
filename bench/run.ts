/**
 * `deno task bench`: microvmm against the C reference VMM (`bench/ref_vmm.c`) on the same guests
 * — exit throughput, create → first exit latency, CLI hello wall time — printed as a table, a
 * Markdown table for README.md, and `bench/out/latest.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { KvmError } from "../mod.ts";
import { BenchSetupError, buildRefVmm, cExitRun, cLatencies } from "./_ref_vmm.ts";
import { createToExitLatencies, exitRun, type Spawned, timedSpawn } from "./_microvmm.ts";
import { formatNumber, markdownTable, type Row, textTable } from "./_report.ts";
import { median, summarize, type Summary } from "./_stats.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const EXIT_GUEST = `${ROOT}guests/bench_exits.bin`;
const HLT_GUEST = `${ROOT}guests/hlt_only.bin`;
const HELLO_GUEST = `${ROOT}guests/hello.bin`;
/** The CLI flags the hello run and the empty module both get. */
const CLI_FLAGS = ["run", "--allow-ffi", "--allow-read", "--allow-env"] as const;
/** The latency measure alternates sides in this many blocks. */
const LATENCY_BLOCKS = 10;

/** The goals the brief sets. */
export const GOALS = {
  /** microvmm exits/s divided by C exits/s, at least. */
  exitThroughputRatio: 0.95,
  /** microvmm median latency divided by C's, at most. */
  latencyRatio: 1.3,
  /** microvmm CLI hello minus an empty `deno run`, median, at most (ms). */
  cliOverheadMs: 5,
} as const;

/** Bench parameters, from the command line. */
export interface BenchOptions {
  /** Runs of the 200,000-exit guest per side, alternating sides. */
  exitRounds: number;
  /** Reported create → first exit repetitions per side. */
  latencyReps: number;
  /** Unreported repetitions before them. */
  latencyWarmup: number;
  /** Timed CLI runs per command (hello, empty module, C seed), interleaved. */
  cliRuns: number;
  /** Untimed CLI runs per command first, so the module cache is hot. */
  cliWarmup: number;
}

const USAGE = `Usage: deno task bench [--exit-rounds N] [--latency-reps N] [--latency-warmup N]
                        [--cli-runs N] [--cli-warmup N]
Defaults: 8 exit rounds, 200 latency reps after 20 warm-up, 20 CLI runs after 3 warm-up.`;

function parseOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      "exit-rounds": { type: "string", default: "8" },
      "latency-reps": { type: "string", default: "200" },
      "latency-warmup": { type: "string", default: "20" },
      "cli-runs": { type: "string", default: "20" },
      "cli-warmup": { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const count = (name: keyof typeof values, min: number) => {
    const value = Number(values[name]);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new BenchSetupError(`--${name}: ${values[name]} is not a whole number ≥ ${min}`);
    }
    return value;
  };
  return {
    exitRounds: count("exit-rounds", 1),
    latencyReps: count("latency-reps", 1),
    latencyWarmup: count("latency-warmup", 0),
    cliRuns: count("cli-runs", 1),
    cliWarmup: count("cli-warmup", 0),
  };
}

const progress = (line: string) => console.error(`bench: ${line}`);
const loadAverage = () => Deno.loadavg().map((load) => load.toFixed(2)).join(" ");
const ms = (value: number, digits = 2) => `${formatNumber(value, digits)} ms`;

/** Measure 1: port-I/O exit throughput, microvmm in this process, C in a child. */
async function measureExits(refVmm: string, rounds: number) {
  const guest = Deno.readFileSync(EXIT_GUEST);
  const microvmm: { exits: number; ms: number; perSecond: number }[] = [];
  const c: { exits: number; ms: number; perSecond: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so a drifting host load hits both alike.
    for (const side of round % 2 === 0 ? ["c", "microvmm"] : ["microvmm", "c"]) {
      if (side === "c") {
        const run = await cExitRun(refVmm, EXIT_GUEST);
        c.push({ exits: run.exits, ms: run.ns / 1e6, perSecond: run.exits / (run.ns / 1e9) });
      } else {
        const run = exitRun(guest);
        microvmm.push({ ...run, perSecond: run.exits / (run.ms / 1e3) });
      }
    }
    const last = (runs: typeof c) => formatNumber(runs[runs.length - 1].perSecond);
    progress(`exits round ${round + 1}/${rounds}: microvmm ${last(microvmm)}/s, C ${last(c)}/s`);
  }
  const microvmmRate = median(microvmm.map((run) => run.perSecond));
  const cRate = median(c.map((run) => run.perSecond));
  const ratio = microvmmRate / cRate;
  return {
    guest: "guests/bench_exits.bin",
    microvmm: { runs: microvmm, medianPerSecond: microvmmRate },
    c: { runs: c, medianPerSecond: cRate },
    ratio,
    /** The median of each round's microvmm/C ratio: drift between rounds cancels out. */
    pairedRatio: median(microvmm.map((run, i) => run.perSecond / c[i].perSecond)),
    goal: GOALS.exitThroughputRatio,
    met: ratio >= GOALS.exitThroughputRatio,
  };
}

/**
 * Measure 2: create → first exit (HLT) → dispose latency. The two sides take turns in blocks,
 * so a change in host load during the measure hits both alike.
 */
async function measureLatency(refVmm: string, reps: number, warmup: number) {
  const guest = Deno.readFileSync(HLT_GUEST);
  const blocks = Math.min(LATENCY_BLOCKS, reps);
  const microvmmSamples: number[] = [];
  const cSamples: number[] = [];
  createToExitLatencies(guest, 0, warmup);
  for (let block = 0; block < blocks; block++) {
    const size = Math.floor(reps * (block + 1) / blocks) - Math.floor(reps * block / blocks);
    microvmmSamples.push(...createToExitLatencies(guest, size, 0));
    // Each C block is a new process: its own warm-up, scaled down to the block.
    const cWarmup = Math.ceil(warmup / blocks);
    cSamples.push(...await cLatencies(refVmm, HLT_GUEST, size, cWarmup));
  }
  const microvmm = summarize(microvmmSamples);
  const c = summarize(cSamples);
  progress(`latency: microvmm median ${ms(microvmm.median, 3)}, C median ${ms(c.median, 3)}`);
  const ratio = microvmm.median / c.median;
  return {
    guest: "guests/hlt_only.bin",
    unit: "ms",
    microvmm,
    c,
    ratio,
    ratioP90: microvmm.p90 / c.p90,
    goal: GOALS.latencyRatio,
    met: ratio <= GOALS.latencyRatio,
  };
}

/** Measure 3: wall time of the CLI hello vs an empty module vs the C seed program. */
async function measureCli(refVmm: string, runs: number, warmup: number) {
  const deno = Deno.execPath();
  const empty = `${OUT}/empty.ts`;
  Deno.writeTextFileSync(empty, "");
  // Deno writes its V8 code cache of newly compiled modules only from the event loop, and
  // microvmm ends with Deno.exit() right after the guest: no run of main.ts ever fills it. One
  // process that imports main.ts (import.meta.main is false there) and ends normally does.
  const warm = `${OUT}/warm_code_cache.ts`;
  Deno.writeTextFileSync(warm, `import "${new URL("../main.ts", import.meta.url).href}";\n`);
  const warmed = await timedSpawn(deno, [...CLI_FLAGS, warm], ROOT);
  if (warmed.code !== 0) throw new BenchSetupError(`importing main.ts failed: ${warmed.code}`);
  const commands = {
    hello: [deno, [...CLI_FLAGS, "main.ts"]],
    empty: [deno, [...CLI_FLAGS, empty]],
    seed: [refVmm, ["hello", HELLO_GUEST]],
  } as const;
  const samples = { hello: [] as number[], empty: [] as number[], seed: [] as number[] };
  for (let i = 0; i < warmup + runs; i++) {
    for (const name of ["hello", "empty", "seed"] as const) {
      const [program, args] = commands[name];
      const run: Spawned = await timedSpawn(program, [...args], ROOT);
      if (run.code !== 0 || (name !== "empty" && run.stdout !== "Hello\n")) {
        throw new BenchSetupError(
          `${name} run failed: status ${run.code}, stdout ${JSON.stringify(run.stdout)}`,
        );
      }
      if (i >= warmup) samples[name].push(run.ms);
    }
  }
  const hello = summarize(samples.hello);
  const emptyDeno = summarize(samples.empty);
  const seedC = summarize(samples.seed);
  const overheadMs = hello.median - emptyDeno.median;
  const pairedOverheadMs = median(samples.hello.map((value, i) => value - samples.empty[i]));
  progress(`CLI: hello ${ms(hello.median, 1)}, empty ${ms(emptyDeno.median, 1)}`);
  return {
    command: `deno ${CLI_FLAGS.join(" ")} main.ts`,
    unit: "ms",
    hello,
    emptyDeno,
    seedC,
    overheadMs,
    pairedOverheadMs,
    goalMs: GOALS.cliOverheadMs,
    met: overheadMs <= GOALS.cliOverheadMs,
  };
}

function rowsOf(
  exits: Awaited<ReturnType<typeof measureExits>>,
  latency: Awaited<ReturnType<typeof measureLatency>>,
  cli: Awaited<ReturnType<typeof measureCli>>,
  options: BenchOptions,
): Row[] {
  const times = (value: number) => `${formatNumber(value, 2)}x`;
  const lat = (summary: Summary) => ms(summary.median, 3);
  return [
    {
      measure: `Port-I/O exits/s (200,001 exits, median of ${options.exitRounds})`,
      microvmm: `${formatNumber(exits.microvmm.medianPerSecond)}/s`,
      c: `${formatNumber(exits.c.medianPerSecond)}/s`,
      ratio: formatNumber(exits.ratio, 2),
      goal: `≥ ${GOALS.exitThroughputRatio}`,
      met: exits.met,
    },
    {
      measure: `Create → first exit (HLT), median of ${options.latencyReps}`,
      microvmm: lat(latency.microvmm),
      c: lat(latency.c),
      ratio: times(latency.ratio),
      goal: `≤ ${GOALS.latencyRatio}x`,
      met: latency.met,
    },
    {
      measure: "Create → first exit (HLT), p90",
      microvmm: ms(latency.microvmm.p90, 3),
      c: ms(latency.c.p90, 3),
      ratio: times(latency.ratioP90),
      goal: "—",
    },
    {
      measure: `CLI hello wall − empty \`deno run\`, median of ${options.cliRuns}`,
      microvmm: `+${ms(cli.overheadMs, 1)}`,
      c: "—",
      ratio: "—",
      goal: `≤ +${GOALS.cliOverheadMs} ms`,
      met: cli.met,
    },
    {
      measure: "CLI hello wall (C: seed program)",
      microvmm: ms(cli.hello.median, 1),
      c: ms(cli.seedC.median, 1),
      ratio: times(cli.hello.median / cli.seedC.median),
      goal: `(empty deno run: ${ms(cli.emptyDeno.median, 1)})`,
    },
  ];
}

async function gitCommit(): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", ROOT, "describe", "--always", "--dirty"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const loadAtStart = Deno.loadavg();
  const options = parseOptions(Deno.args);
  Deno.mkdirSync(OUT, { recursive: true });
  const refVmm = `${OUT}/ref_vmm`;
  const gcc = await buildRefVmm(`${ROOT}bench/ref_vmm.c`, refVmm);
  progress(`built ${refVmm} (${gcc}); load average ${loadAverage()}`);
  if (loadAtStart[0] > navigator.hardwareConcurrency / 2) {
    progress("the host is busy (load average above half the CPUs): expect noisy figures");
  }

  const latency = await measureLatency(refVmm, options.latencyReps, options.latencyWarmup);
  const exits = await measureExits(refVmm, options.exitRounds);
  const cli = await measureCli(refVmm, options.cliRuns, options.cliWarmup);

  const rows = rowsOf(exits, latency, cli, options);
  const markdown = markdownTable(rows);
  const host = {
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    gcc,
    cpus: navigator.hardwareConcurrency,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: Deno.loadavg(),
  };
  const report = {
    date: new Date().toISOString(),
    commit: await gitCommit(),
    host,
    options,
    exits,
    latency,
    cli,
    rows,
    markdown,
    seconds: (performance.now() - started) / 1e3,
  };
  Deno.writeTextFileSync(`${OUT}/latest.json`, JSON.stringify(report, null, 2) + "\n");

  console.log(`\nmicrovmm vs C reference VMM (deno ${host.deno}, kernel ${host.kernel})\n`);
  console.log(textTable(rows));
  console.log(`\nMarkdown (for README.md):\n\n${markdown}\n`);
  const missed = rows.filter((row) => row.met === false).length;
  console.log(
    `${rows.filter((row) => row.met !== undefined).length - missed} goals met, ${missed} not met` +
      ` (${formatNumber(report.seconds, 0)} s; load average at the end ` +
      `${loadAverage()}); wrote bench/out/latest.json`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    if (error instanceof BenchSetupError) {
      console.error(`bench: ${error.message}`);
      Deno.exit(1);
    }
    if (error instanceof KvmError) {
      console.error(`bench: KVM is not usable: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
}
