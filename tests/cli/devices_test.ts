/**
 * The microvmm command's devices seen from guests: COM1 output and stdin input, string port I/O,
 * unclaimed ports and MMIO, and the `--trace` exit counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertRun, type CliRun, runCases, withoutSliceKicks } from "./_run.ts";

/** Asserts the run timed out after `seconds` with `stdout` printed. */
function assertTimedOut(run: CliRun, seconds: number, stdout: string): void {
  assert.equal(run.stdout, stdout);
  assert.equal(run.stderr, `microvmm: guest timed out after ${seconds} s\n`);
  assert.equal(run.code, 124);
}

/** The `--trace` report as printed on stderr: the header line, then one fact per line. */
const trace = (...lines: string[]) => `microvmm trace: ${lines.join("\n  ")}\n`;

Deno.test("microvmm connects COM1 to stdout and stdin", async (t) => {
  const longInput = "y".repeat(5000);
  await runCases(t, [
    {
      name: "uart_hello.bin prints through the UART, divisor bytes never reach stdout",
      args: ["guests/uart_hello.bin"],
      check: (run) => assertRun(run, "Hello from COM1\n"),
    },
    {
      name: "uart_echo.bin echoes stdin up to the 'q' and halts",
      args: ["guests/uart_echo.bin"],
      options: { stdin: "abc\nq" },
      check: (run) => assertRun(run, "echo> abc\n"),
    },
    {
      name: "input after the 'q' is never read",
      args: ["guests/uart_echo.bin"],
      options: { stdin: "abc\nqnot echoed\n" },
      check: (run) => assertRun(run, "echo> abc\n"),
    },
    {
      name: "every byte value is passed unchanged, both ways (NUL, 0xff, CR)",
      args: ["guests/uart_echo.bin"],
      options: { stdin: new Uint8Array([0x61, 0x00, 0xff, 0x0d, 0x0a, 0x71]) },
      check: (run) => {
        const prompt = [...new TextEncoder().encode("echo> ")];
        assert.deepEqual([...run.stdoutBytes], [...prompt, 0x61, 0x00, 0xff, 0x0d, 0x0a]);
        assert.equal(run.stderr, "");
        assert.equal(run.code, 0);
      },
    },
    {
      name: "more input than one 4 KiB read of stdin is echoed in full",
      args: ["guests/uart_echo.bin"],
      options: { stdin: `${longInput}q` },
      check: (run) => assertRun(run, `echo> ${longInput}`),
    },
    // 3 s, not 1: inside the nested test host (emulated CPU) the first second can go to the
    // first calls of the run's code paths and libc groups, before the prompt is all out.
    {
      name: "stdin closed without a 'q': the guest polls until --timeout, exit 124",
      args: ["--timeout", "3", "guests/uart_echo.bin"],
      options: { stdin: "" },
      check: (run) => assertTimedOut(run, 3, "echo> "),
    },
    {
      name: "stdin ending before the 'q': what came is echoed, then exit 124 at --timeout",
      args: ["--timeout", "3", "guests/uart_echo.bin"],
      options: { stdin: "hi" },
      check: (run) => assertTimedOut(run, 3, "echo> hi"),
    },
  ]);
});

Deno.test("microvmm handles string port I/O (REP OUTSB / REP INSB)", async (t) => {
  await runCases(t, [
    {
      name: "string_io.bin prints both messages",
      args: ["guests/string_io.bin"],
      check: (run) => assertRun(run, "String I/O works\ninsb ok\n"),
    },
    {
      name: "--trace counts each OUTSB byte, and one exit for the whole REP INSB",
      args: ["--trace", "guests/string_io.bin"],
      check: (run) => {
        assert.equal(run.stdout, "String I/O works\ninsb ok\n", "--trace leaves stdout alone");
        assert.equal(run.code, 0);
        // 17 + 8 REP OUTSB bytes to 0xf1: KVM's emulator exits once per OUTS element. The
        // 4-byte REP INSB from 0xe9 is one exit (KVM reads the whole count ahead) of 4 reads.
        // 25 + 1 I/O exits, plus the HLT.
        assert.equal(
          withoutSliceKicks(run.stderr),
          trace(
            "exits: 27",
            "KVM_EXIT_IO: 26",
            "KVM_EXIT_HLT: 1",
            "out 0x00f1: 25",
            "in  0x00e9: 4",
            "unclaimed port accesses: 0",
            "unclaimed MMIO accesses: 0",
          ),
        );
      },
    },
    {
      name: "--trace of the hello guest: six OUTs and a HLT",
      args: ["--trace"],
      check: (run) => {
        assert.equal(run.stdout, "Hello\n");
        assert.equal(
          withoutSliceKicks(run.stderr),
          trace(
            "exits: 7",
            "KVM_EXIT_IO: 6",
            "KVM_EXIT_HLT: 1",
            "out 0x00f1: 6",
            "unclaimed port accesses: 0",
            "unclaimed MMIO accesses: 0",
          ),
        );
      },
    },
    {
      name: "unclaimed ports: writes are dropped, reads of every size give all ones",
      args: ["--trace", "guests/io_sizes.bin"],
      check: (run) => {
        assert.deepEqual([...run.stdoutBytes], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert.equal(run.code, 0);
        assert.match(run.stderr, /\n {2}out 0x0500: 3\n {2}in {2}0x0500: 3\n/);
        assert.match(run.stderr, /\n {2}unclaimed port accesses: 6\n/);
      },
    },
  ]);
});

Deno.test("microvmm answers unclaimed MMIO with all ones", async (t) => {
  await runCases(t, [
    {
      name: "mmio.bin reads ff ff ff ff from the test window",
      args: ["--mode", "protected", "guests/mmio.bin"],
      check: (run) => {
        assert.deepEqual([...run.stdoutBytes], [0xff, 0xff, 0xff, 0xff]);
        assert.equal(run.stderr, "");
        assert.equal(run.code, 0);
      },
    },
    {
      name: "--trace counts its two writes and one read, all 3 unclaimed",
      args: ["--trace", "--mode", "protected", "guests/mmio.bin"],
      check: (run) => {
        assert.deepEqual([...run.stdoutBytes], [0xff, 0xff, 0xff, 0xff]);
        assert.equal(run.code, 0);
        assert.equal(
          withoutSliceKicks(run.stderr),
          trace(
            "exits: 8",
            "KVM_EXIT_IO: 4",
            "KVM_EXIT_HLT: 1",
            "KVM_EXIT_MMIO: 3",
            "out 0x00f1: 4",
            "mmio write 0xd0000000: 1",
            "mmio write 0xd0000004: 1",
            "mmio read  0xd0000008: 1",
            "unclaimed port accesses: 0",
            "unclaimed MMIO accesses: 3",
          ),
        );
      },
    },
  ]);
});
