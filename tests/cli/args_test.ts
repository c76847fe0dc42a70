/**
 * parseCommandLine in-process: the option syntax the microvmm command accepts (the rules of
 * node:util's strict parseArgs, which lib/cli/args.ts replaced) and its one-line usage errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../lib/cli/args.ts";

/** The message of the UsageError `args` give. */
function refusal(args: string[]): string {
  try {
    parseCommandLine(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
    return error.message;
  }
  assert.fail(`${JSON.stringify(args)} was accepted`);
}

Deno.test("parseCommandLine() reads options, flags and the guest file", async (t) => {
  await t.step("no arguments: the defaults", () => {
    const config = parseCommandLine([]);
    assert.deepEqual(config, {
      guestPath: undefined,
      mode: "real",
      memSize: 2 * 2 ** 20,
      load: 0x1000,
      entry: 0x1000,
      timeout: undefined,
      trace: false,
      help: false,
      version: false,
      linux: undefined,
    });
  });
  await t.step("--name value and --name=value", () => {
    const config = parseCommandLine(["--mem", "64M", "--mode=long", "--load=0x2000", "g.bin"]);
    assert.equal(config.memSize, 64 * 2 ** 20);
    assert.equal(config.mode, "long");
    assert.equal(config.load, 0x2000);
    assert.equal(config.entry, 0x2000);
    assert.equal(config.guestPath, "g.bin");
  });
  await t.step("a value may start with '-' and is then checked as a value", () => {
    assert.equal(
      parseCommandLine(["--cmdline", "-x --y", "--kernel", "k"]).linux?.cmdline,
      "-x --y",
    );
    assert.equal(
      refusal(["--mem", "-5"]),
      `--mem: "-5" is not a size (use e.g. 2M, 64M, 1G)`,
    );
    assert.equal(
      refusal(["--mem", "--trace"]),
      `--mem: "--trace" is not a size (use e.g. 2M, 64M, 1G)`,
    );
  });
  await t.step("the last of a repeated option wins", () => {
    assert.equal(parseCommandLine(["--mode", "long", "--mode", "protected"]).mode, "protected");
  });
  await t.step("flags, short flags and groups of them", () => {
    assert.equal(parseCommandLine(["--trace"]).trace, true);
    assert.equal(parseCommandLine(["-h"]).help, true);
    assert.equal(parseCommandLine(["-V"]).version, true);
    const both = parseCommandLine(["-hV"]);
    assert.equal(both.help && both.version, true);
  });
  await t.step("'--' ends the options; '-' alone is a guest file", () => {
    assert.equal(parseCommandLine(["--", "--help"]).guestPath, "--help");
    assert.equal(parseCommandLine(["--", "--help"]).help, false);
    assert.equal(parseCommandLine(["-"]).guestPath, "-");
  });
});

Deno.test("parseCommandLine() refuses bad usage with one line", async (t) => {
  const cases: [string[], string][] = [
    [["--bogus"], "Unknown option '--bogus'"],
    [["--bogus=1"], "Unknown option '--bogus'"],
    [["-x"], "Unknown option '-x'"],
    [["-hx"], "Unknown option '-x'"],
    [["--mode"], "Option '--mode <value>' argument missing"],
    [["--trace=yes"], "Option '--trace' does not take an argument"],
    [["--help="], "Option '-h, --help' does not take an argument"],
    [["--bo\ngus"], "Unknown option '--bo"],
    [["a.bin", "b.bin"], "expected at most one guest file, got 2: a.bin b.bin"],
    [["--initrd", "i"], "--initrd needs --kernel"],
  ];
  for (const [args, message] of cases) {
    await t.step(JSON.stringify(args), () => assert.equal(refusal(args), message));
  }
});
