/**
 * The microvmm side of the bench: exit throughput and create → first exit latency through the
 * module API in this process, and CLI wall time through `deno run` child processes.
 *
 * @module
 */

import { Vm } from "../mod.ts";

/** One timed run of the exit-throughput guest in microvmm. */
export interface ExitRun {
  /** `result.exits.total` of the run. */
  exits: number;
  /** Milliseconds `vm.run()` took. */
  ms: number;
}

const discard = (_bytes: Uint8Array) => {};

/** Runs `guest` (the 200,000-exit guest) once in long mode and times `vm.run()`. */
export function exitRun(guest: Uint8Array): ExitRun {
  using vm = new Vm({ mode: "long", output: discard });
  vm.load(guest);
  const start = performance.now();
  const result = vm.run();
  const ms = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`The exit guest ended with status ${result.status} (${result.stop.kind})`);
  }
  return { exits: result.exits.total, ms };
}

/**
 * `new Vm()` + load `guest` (a lone HLT) + `run()` until HLT + dispose, `reps` times after
 * `warmup` unreported ones. Returns each repetition's time in milliseconds.
 */
export function createToExitLatencies(guest: Uint8Array, reps: number, warmup: number): number[] {
  const samples: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const start = performance.now();
    {
      using vm = new Vm({ output: discard });
      vm.load(guest);
      const result = vm.run();
      if (result.stop.kind !== "hlt") {
        throw new Error(`The HLT guest stopped with ${result.stop.kind}, not hlt`);
      }
    }
    const ms = performance.now() - start;
    if (i >= warmup) samples.push(ms);
  }
  return samples;
}

/** What one timed child process did. */
export interface Spawned {
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  /** Its exit status. */
  code: number;
  /** Its standard output. */
  stdout: string;
}

/** Spawns `program args` in `cwd`, waits for it, and times it (stdout piped, stderr dropped). */
export async function timedSpawn(program: string, args: string[], cwd: string): Promise<Spawned> {
  const command = new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "null" });
  const start = performance.now();
  const output = await command.output();
  const ms = performance.now() - start;
  return { ms, code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}
