/**
 * The microvmm command line: `microvmm [options] [guest.bin]` or `microvmm --kernel ...`.
 * See `--help` and README.md.
 *
 * @module
 */

import { runCli } from "./lib/cli/run_cli.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args));
