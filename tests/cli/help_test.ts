/**
 * `microvmm --help` and `--version` print what they should on stdout and exit 0, without KVM.
 *
 * @module
 */

import assert from "node:assert/strict";
import { OPTIONS, usage } from "../../lib/cli/args.ts";
import { VERSION } from "../../lib/cli/run_cli.ts";
import { DEFAULT_LOAD_ADDRESS } from "../../lib/arch/x86_64/layout.ts";
import { EXIT_STATUS } from "../../lib/vmm/exit_status.ts";
import { assertOneLineError, assertRun, runCases } from "./_run.ts";

const NO_KVM = { env: { MICROVMM_KVM_DEVICE: "/nonexistent" } };

Deno.test("microvmm --help prints the usage and exits 0", async (t) => {
  const help = usage() + "\n";
  await runCases(t, [
    {
      name: "--help prints the usage text, exit 0",
      args: ["--help"],
      check: (run) => {
        assertRun(run, help);
        assert.match(run.stdout, /^Usage: microvmm \[options\] \[guest\.bin\]\n/);
      },
    },
    {
      name: "--help names every option, with its value and short form",
      args: ["--help"],
      check: (run) => {
        for (const [name, option] of Object.entries(OPTIONS)) {
          const value = "value" in option ? ` ${option.value}` : "";
          const short = "short" in option ? `-${option.short}, ` : "";
          assert.ok(
            run.stdout.includes(`${short}--${name}${value} `),
            `--${name} in:\n${run.stdout}`,
          );
          assert.ok(run.stdout.includes(option.help), `the help line of --${name}`);
        }
      },
    },
    {
      name: "--help gives the defaults and exit statuses the code uses",
      args: ["--help"],
      check: (run) => {
        assert.ok(run.stdout.includes(`(default 0x${DEFAULT_LOAD_ADDRESS.toString(16)})`));
        assert.ok(run.stdout.includes(`${EXIT_STATUS.GUEST_CRASH} guest crash`));
        assert.ok(run.stdout.includes(`${EXIT_STATUS.USAGE} bad usage or input`));
        assert.ok(run.stdout.includes(`${EXIT_STATUS.KVM_UNAVAILABLE} KVM unavailable`));
        assert.ok(run.stdout.includes(`${EXIT_STATUS.TIMEOUT} timeout`));
        assert.ok(run.stdout.includes("MICROVMM_KVM_DEVICE"));
      },
    },
    {
      name: "-h is --help",
      args: ["-h"],
      check: (run) => assertRun(run, help),
    },
    {
      name: "--help needs no KVM and reads no guest file",
      args: ["--help", "missing.bin"],
      options: NO_KVM,
      check: (run) => assertRun(run, help),
    },
    {
      name: "--help with a bad option is still bad usage",
      args: ["--help", "--bogus"],
      check: (run) =>
        assertOneLineError(run, "microvmm: Unknown option '--bogus' (see microvmm --help)", 2),
    },
  ]);
});

Deno.test("microvmm --version prints the version and how it runs, and exits 0", async (t) => {
  const version = `microvmm ${VERSION} (deno run, deno ${Deno.version.deno})\n`;
  await runCases(t, [
    {
      name: "--version under deno run",
      args: ["--version"],
      check: (run) => {
        assertRun(run, version);
        assert.match(run.stdout, /^microvmm 0\.1\.0 \(/);
      },
    },
    {
      name: "-V is --version",
      args: ["-V"],
      check: (run) => assertRun(run, version),
    },
    {
      name: "--version needs no KVM",
      args: ["--version"],
      options: NO_KVM,
      check: (run) => assertRun(run, version),
    },
    {
      name: "--version names the launcher when run through it",
      args: ["--version"],
      options: { env: { MICROVMM_LAUNCHER: "1" } },
      check: (run) => assertRun(run, `microvmm ${VERSION} (launcher, deno ${Deno.version.deno})\n`),
    },
  ]);
});
