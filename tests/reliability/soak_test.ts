/**
 * Resources soak: ten thousand create/run/dispose cycles of the hello guest in one process leave
 * the open fds, memory mappings and resident memory where they were after a warm-up.
 *
 * The cycles run in `tools/soak.ts` (also `deno task soak [CYCLES]`), a process of their own:
 * inside `deno test` the runner's own ~270 MiB, released whenever it likes, would swamp the RSS
 * figure. `MICROVMM_SOAK_CYCLES` sets the count (default 10000: ~15 s on the kvm-pvm CI host).
 * tests/api/hygiene_test.ts checks the VMM's own mappings and timers exactly over fewer cycles.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { SoakResult } from "../../tools/soak.ts";
import { readAll, ROOT } from "./_proc.ts";
import { rounds } from "../_scale.ts";

/** 10,000 cycles here, 500 in the nested test host (TCG, ~20x slower); the env var overrides. */
const CYCLES = Number(Deno.env.get("MICROVMM_SOAK_CYCLES") ?? rounds(10000, 500));

Deno.test(`${CYCLES} create/run/dispose cycles: fds, mappings and RSS come back`, async () => {
  const child = new Deno.Command(Deno.execPath(), {
    // --allow-all: Deno grants /proc/self only to it.
    args: ["run", "--allow-all", `${ROOT}tools/soak.ts`, String(CYCLES)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const [stdout, stderr] = await Promise.all([readAll(child.stdout), readAll(child.stderr)]);
  const status = await child.status;
  const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
  console.log(lines[0]);
  assert.equal(new TextDecoder().decode(stderr), "");
  const result: SoakResult = JSON.parse(lines.at(-1)!);
  assert.equal(result.cycles, CYCLES);
  assert.deepEqual(result.leaks, [], lines[0]);
  assert.equal(status.code, 0);
});
