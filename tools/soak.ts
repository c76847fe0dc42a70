/**
 * `deno task soak [CYCLES]`: creates, runs and disposes the hello guest's VM CYCLES times (default
 * 10000) in this one process and checks that open fds, memory mappings and RSS come back to
 * where they were after a warm-up. Prints the figures, then one JSON line; exits 1 on a leak.
 *
 * It runs as its own process because a `deno test` process is no place to measure RSS: the test
 * runner's own memory (~270 MiB, released at a moment of its choosing) swamps any VM's.
 *
 * @module
 */

import { Vm } from "../mod.ts";

/** Figures of one soak. */
export interface SoakResult {
  cycles: number;
  seconds: number;
  before: Usage;
  after: Usage;
  /** The largest RSS (KiB) seen while cycling, sampled every 500 cycles. */
  peakRssKiB: number;
  /** What exceeded its slack, if anything. */
  leaks: string[];
}

/** What the process holds. */
export interface Usage {
  fds: number;
  maps: number;
  rssKiB: number;
  heapKiB: number;
}

/** RSS climbs ~10 MiB over the first few hundred VMs (malloc arenas, V8 code), then stays. */
const WARM_UP = 1000;
/** Deno may open a file now and then. */
const FD_SLACK = 2;
/** V8 and malloc add and drop mappings on their own (±8 seen); one leaked per VM is thousands. */
const MAPS_SLACK = 16;
/**
 * RSS still creeps up to ~2.5 MiB over the first 10000 cycles after the warm-up, then stays
 * (40000 cycles: +1.2 MiB after the first 5000). 10000 VMs keeping 640 bytes each would be 6 MiB.
 */
const RSS_SLACK_KIB = 6 * 1024;

const HELLO = Deno.readFileSync(new URL("../guests/hello.bin", import.meta.url));

/** This process's open fds, /proc/self/maps lines, RSS and V8 heap in use. */
export function usage(): Usage {
  const status = Deno.readTextFileSync("/proc/self/status");
  return {
    fds: [...Deno.readDirSync("/proc/self/fd")].length,
    maps: Deno.readTextFileSync("/proc/self/maps").trimEnd().split("\n").length,
    rssKiB: Number(/^VmRSS:\s*(\d+) kB$/m.exec(status)![1]),
    heapKiB: Math.round(Deno.memoryUsage().heapUsed / 1024),
  };
}

/** Creates a VM, runs hello in it and disposes it. */
function cycle(): void {
  let output = 0;
  using vm = new Vm({ output: (bytes) => output += bytes.length });
  vm.load(HELLO);
  const { stop } = vm.run({ timeout: 10 });
  if (stop.kind !== "hlt" || output !== 6) {
    throw new Error(`hello did not run: ${stop.kind}, ${output} bytes of output`);
  }
}

/** Runs the warm-up and `cycles` cycles; returns the figures and what leaked. */
export function soak(cycles: number): SoakResult {
  for (let i = 0; i < WARM_UP; i++) cycle();
  const before = usage();
  const start = performance.now();
  let peakRssKiB = before.rssKiB;
  for (let i = 1; i <= cycles; i++) {
    cycle();
    if (i % 500 === 0) peakRssKiB = Math.max(peakRssKiB, usage().rssKiB);
  }
  const seconds = (performance.now() - start) / 1000;
  const after = usage();
  peakRssKiB = Math.max(peakRssKiB, after.rssKiB);
  const leaks: string[] = [];
  if (after.fds > before.fds + FD_SLACK) leaks.push(`fds ${before.fds} -> ${after.fds}`);
  if (after.maps > before.maps + MAPS_SLACK) leaks.push(`maps ${before.maps} -> ${after.maps}`);
  if (peakRssKiB > before.rssKiB + RSS_SLACK_KIB) {
    leaks.push(`RSS ${before.rssKiB} -> ${peakRssKiB} KiB`);
  }
  return { cycles, seconds, before, after, peakRssKiB, leaks };
}

if (import.meta.main) {
  const cycles = Number(Deno.args[0] ?? "10000");
  if (!Number.isSafeInteger(cycles) || cycles < 1) {
    console.error(`usage: deno task soak [CYCLES] (a positive integer, not ${Deno.args[0]})`);
    Deno.exit(2);
  }
  const r = soak(cycles);
  console.log(
    `soak x${r.cycles}: ${r.seconds.toFixed(1)} s (${(r.seconds / r.cycles * 1000).toFixed(2)} ` +
      `ms a cycle); fds ${r.before.fds} -> ${r.after.fds}, maps ${r.before.maps} -> ` +
      `${r.after.maps}, RSS ${r.before.rssKiB} -> ${r.after.rssKiB} KiB (peak ${r.peakRssKiB}), ` +
      `V8 heap ${r.before.heapKiB} -> ${r.after.heapKiB} KiB` +
      (r.leaks.length ? `; LEAKED: ${r.leaks.join(", ")}` : "; nothing leaked"),
  );
  console.log(JSON.stringify(r));
  Deno.exit(r.leaks.length ? 1 : 0);
}
