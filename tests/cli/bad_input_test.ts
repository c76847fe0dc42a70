/**
 * The microvmm command refuses bad guest files, bad options and an unusable KVM with exactly one
 * stderr line, nothing on stdout, no stack trace, and status 2 (bad input) or 3 (KVM).
 *
 * The rows live in `_bad_inputs.ts`, which tests/reliability/BAD_INPUT.md is generated from.
 *
 * @module
 */

import { BAD_INPUTS, type BadInput, createBadInputFiles, resolveBadInput } from "./_bad_inputs.ts";
import {
  assertOneLineError,
  assertRun,
  type CliCase,
  GUESTS,
  isPvmHost,
  runCases,
  TempDir,
} from "./_run.ts";

/** The CLI case for `row`, its files under `dir`. */
function toCase(row: BadInput, dir: string): CliCase {
  const { name, args, env, line, status, rootRuns, killAfter } = resolveBadInput(row, dir);
  if (rootRuns !== undefined && Deno.uid() === 0) {
    // Tests run as root here, and root reads a mode-000 file anyway (CAP_DAC_OVERRIDE).
    return { name: `${name}: runs as root`, args, check: (run) => assertRun(run, rootRuns) };
  }
  return {
    name,
    args,
    options: { env, killAfter },
    check: (run) => assertOneLineError(run, `microvmm: ${line}`, status),
  };
}

const GROUPS = [...new Set(BAD_INPUTS.map((row) => row.group))];

for (const group of GROUPS) {
  const statuses = [...new Set(BAD_INPUTS.filter((r) => r.group === group).map((r) => r.status))];
  Deno.test(`microvmm refuses bad ${group} with one line and status ${statuses.join("/")}`, async (t) => {
    using tmp = new TempDir();
    createBadInputFiles(tmp.path, Deno.readFileSync(`${GUESTS}/hello.bin`));
    const rows = BAD_INPUTS.filter((row) => row.group === group && (!row.pvmOnly || isPvmHost()));
    await runCases(t, rows.map((row) => toCase(row, tmp.path)));
  });
}

Deno.test("a newline inside a bad value or file name stays on the one error line, as \\n", async (t) => {
  await runCases(t, [{
    name: "--mem with a newline",
    args: ["--mem", "1\nx"],
    check: (run) =>
      assertOneLineError(
        run,
        'microvmm: --mem: "1\\nx" is not a size (use e.g. 2M, 64M, 1G) (see microvmm --help)',
        2,
      ),
  }, {
    name: "a guest file name with a newline",
    args: ["no\nsuch.bin"],
    check: (run) => assertOneLineError(run, /^microvmm: .*no\\nsuch\.bin/, 2),
  }]);
});
