/**
 * The microvmm command's exit status says how the guest ended (exit port, HLT, crash, timeout),
 * crashes and timeouts are reported on stderr, and guest output is never lost.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertResetRegisters,
  assertRun,
  type CliRun,
  printCode,
  runCases,
  shutdownResetsVcpu,
  TempDir,
  withoutSliceKicks,
} from "./_run.ts";

const TRIPLE_FAULT = "microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)";
const EMULATION_FAILURE =
  "microvmm: KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1 KVM_INTERNAL_ERROR_EMULATION)";

/** MOV AL,v; OUT 0xf4,AL: the exit port stops the VM with status v. Then an unreachable HLT. */
const exitWith = (status: number) => [0xb0, status, 0xe6, 0xf4, 0xf4];
/** UD2: with the empty IDT the VMM sets up in protected mode this triple-faults. */
const UD2 = [0x0f, 0x0b];
/** Long mode: MOV EAX,0xd0000000; JMP RAX: fetch from unbacked memory, which KVM cannot emulate. */
const JUMP_TO_NOWHERE = [0xb8, 0x00, 0x00, 0x00, 0xd0, 0xff, 0xe0];
/** 32-bit: MOV ECX,5000; MOV AL,'x'; 1: OUT 0xf1,AL; LOOP 1b: 5000 x's, more than the 4 KiB buffer. */
const PRINT_5000_X = [0xb9, 0x88, 0x13, 0x00, 0x00, 0xb0, 0x78, 0xe6, 0xf1, 0xe2, 0xfc];

/**
 * Asserts `run` is a crash report: status 1, the first stderr line `first` (or starting with
 * it), then the register lines, and no stack trace.
 */
function assertCrash(run: CliRun, first: string, stdout = ""): void {
  assert.equal(run.stdout, stdout);
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assert.ok(lines[0].startsWith(first), `first line: ${lines[0]}`);
  assert.doesNotMatch(run.stderr, /^ {4}at /m, "no stack trace");
  const report = lines.slice(1).join("\n");
  for (const register of ["RIP", "RSP", "RFLAGS", "CR0", "CR3", "CR4", "EFER"]) {
    assert.match(report, new RegExp(`\\b${register}=0x[0-9a-f]+\\b`), `${register} in the report`);
  }
  assert.match(report, /\bCS: sel=0x[0-9a-f]{4} base=0x[0-9a-f]+ limit=0x[0-9a-f]+ /);
  for (const line of lines.slice(1)) assert.match(line, /^ {2}\S/, `report lines are indented`);
}

Deno.test("microvmm exits with the guest's status", async (t) => {
  using tmp = new TempDir();
  await runCases(t, [
    {
      name: "exit_code.bin prints and exits 42 through the exit port",
      args: ["guests/exit_code.bin"],
      check: (run) => assertRun(run, "exiting with 42\n", 42),
    },
    {
      name: "a guest that executes HLT exits 0",
      args: ["guests/hlt_only.bin"],
      check: (run) => assertRun(run, "", 0),
    },
    {
      name: "writing 0 to the exit port exits 0",
      args: [tmp.file("exit0.bin", exitWith(0))],
      check: (run) => assertRun(run, "", 0),
    },
    {
      name: "writing 255 to the exit port exits 255",
      args: [tmp.file("exit255.bin", exitWith(255))],
      check: (run) => assertRun(run, "", 255),
    },
    {
      name: "output without a final newline is kept when the guest exits through the port",
      args: [tmp.file("exit7.bin", [...printCode("no newline"), ...exitWith(7)])],
      check: (run) => assertRun(run, "no newline", 7),
    },
    {
      name: "--timeout that does not pass changes nothing",
      args: ["--timeout", "30", "guests/exit_code.bin"],
      check: (run) => assertRun(run, "exiting with 42\n", 42),
    },
  ]);
});

Deno.test("microvmm exits 1 with a crash report when the guest crashes", async (t) => {
  using tmp = new TempDir();
  await runCases(t, [
    {
      name: "a triple fault: KVM_EXIT_SHUTDOWN and the registers on stderr",
      args: ["--mode", "protected", "guests/triple_fault.bin"],
      check: (run) => {
        assertCrash(run, TRIPLE_FAULT);
        assert.equal(run.stderr.split("\n")[0], TRIPLE_FAULT);
        if (shutdownResetsVcpu()) return assertResetRegisters(run.stderr.trimEnd().split("\n"), 6);
        assert.match(run.stderr, /^ {2}RIP=0x0000000000001000 /m, "RIP at the UD2");
        assert.match(run.stderr, /CS: sel=0x0008 /, "the flat 32-bit code segment");
      },
    },
    {
      name: "an emulation failure: KVM_EXIT_INTERNAL_ERROR and the registers on stderr",
      args: ["--mode", "long", "guests/emulation_failure.bin"],
      check: (run) => {
        assertCrash(run, EMULATION_FAILURE);
        assert.match(run.stderr, /^ {2}RIP=0x00000000d0000000 /m, "RIP at the unbacked address");
      },
    },
    {
      name: "output without a newline before a triple fault reaches stdout first",
      args: ["--mode", "protected", tmp.file("partial.bin", [...printCode("partial"), ...UD2])],
      check: (run) => assertCrash(run, TRIPLE_FAULT, "partial"),
    },
    {
      name: "output before an emulation failure reaches stdout",
      args: ["--mode", "long", tmp.file("long.bin", [...printCode("long"), ...JUMP_TO_NOWHERE])],
      check: (run) => assertCrash(run, EMULATION_FAILURE, "long"),
    },
    {
      name: "more than 4 KiB of output before a crash is all kept, byte for byte",
      args: ["--mode", "protected", tmp.file("x5000.bin", [...PRINT_5000_X, ...UD2])],
      check: (run) => assertCrash(run, TRIPLE_FAULT, "x".repeat(5000)),
    },
    {
      name: "--trace after a crash report adds the exit counts",
      args: ["--trace", "--mode", "protected", "guests/triple_fault.bin"],
      check: (run) => {
        assert.equal(run.code, 1);
        assert.match(run.stderr, new RegExp(`^${escape(TRIPLE_FAULT)}\n(  .*\n)+`));
        assert.match(
          withoutSliceKicks(run.stderr),
          /\nmicrovmm trace: exits: 1\n {2}KVM_EXIT_SHUTDOWN: 1\n/,
        );
      },
    },
  ]);
});

Deno.test("microvmm exits 124 and says so when --timeout passes", async (t) => {
  using tmp = new TempDir();
  const printThenLoop = tmp.file("print_then_loop.bin", [0xb0, 0x41, 0xe6, 0xf1, 0xeb, 0xfe]);
  const assertTimedOut = (run: CliRun, seconds: number, stdout: string) => {
    assert.equal(run.stdout, stdout);
    assert.equal(run.stderr, `microvmm: guest timed out after ${seconds} s\n`);
    assert.equal(run.code, 124);
    assert.ok(run.seconds >= seconds, `ran ${run.seconds} s, at least the timeout`);
    assert.ok(run.seconds < seconds + 10, `ran ${run.seconds} s, stopped soon after the timeout`);
  };
  await runCases(t, [
    {
      name: "a guest spinning without exits is stopped (runaway.bin, --timeout 0.5)",
      args: ["--timeout", "0.5", "guests/runaway.bin"],
      check: (run) => assertTimedOut(run, 0.5, ""),
    },
    {
      // 2 s: inside the nested test host the run's first calls (timer, libc groups) can take a
      // good part of a second before the guest's first exit.
      name: "the guest's output before the timeout is not lost",
      args: ["--timeout", "2", printThenLoop],
      check: (run) => assertTimedOut(run, 2, "A"),
    },
    {
      name: "a whole number of seconds is reported as given",
      args: ["--timeout", "1", "guests/runaway.bin"],
      check: (run) => assertTimedOut(run, 1, ""),
    },
  ]);
});

/** `text` with regular-expression characters escaped. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
