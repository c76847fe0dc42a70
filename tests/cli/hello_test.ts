/**
 * The microvmm command runs hello guests byte-exact in every CPU mode, from any directory, at any
 * load address and entry point.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertRun, GUESTS, isPvmHost, microvmm, printCode, runCases, TempDir } from "./_run.ts";

Deno.test("microvmm prints Hello and exits 0, with the built-in guest or guests/hello.bin", async (t) => {
  using tmp = new TempDir();
  await runCases(t, [
    {
      name: "no guest file: the embedded hello guest",
      args: [],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "guests/hello.bin",
      args: ["guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "no guest file, run from another directory",
      args: [],
      options: { cwd: tmp.path },
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "an absolute guest path, run from another directory",
      args: [`${GUESTS}/hello.bin`],
      options: { cwd: tmp.path },
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "a guest path relative to the working directory",
      args: ["hello.bin"],
      options: { cwd: GUESTS },
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "--mem 64K, the smallest RAM, is enough for a real-mode guest",
      args: ["--mem", "64K", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
  ]);
});

Deno.test("microvmm starts each guest in the mode it asks for", async (t) => {
  await runCases(t, [
    {
      name: "real mode is the default",
      args: ["guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "--mode real says so explicitly",
      args: ["--mode", "real", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "--mode protected",
      args: ["--mode", "protected", "guests/hello_protected.bin"],
      check: (run) => assertRun(run, "Hello from protected mode\n"),
    },
    {
      name: "--mode long",
      args: ["--mode", "long", "guests/hello_long.bin"],
      check: (run) => assertRun(run, "Hello from long mode\n"),
    },
    {
      name: "--mode long with 1G of RAM (page tables for more than 4 GiB)",
      args: ["--mode", "long", "--mem", "1G", "guests/hello_long.bin"],
      check: (run) => assertRun(run, "Hello from long mode\n"),
    },
    {
      name: "--mode protected with 5G of RAM (the VMM area stays below 4 GiB)",
      args: ["--mode", "protected", "--mem", "5G", "guests/hello_protected.bin"],
      check: (run) => assertRun(run, "Hello from protected mode\n"),
    },
    {
      name: isPvmHost()
        ? "--mode paged: exit 3 and says why, on this kvm-pvm host"
        : "--mode paged: Hello from paged mode, on this full KVM",
      args: ["--mode", "paged", "guests/hello_paged.bin"],
      check: (run) => {
        if (isPvmHost()) {
          // Nested PVM (kvm_pvm) runs guests only in long mode or emulated: it silently drops
          // CR0.PG for 32-bit paging, so microvmm refuses to start instead of running the guest
          // with paging off (it would print "WRONG MODE").
          assert.equal(run.stdout, "");
          assert.equal(
            run.stderr,
            "microvmm: Cannot start guest in paged mode: this KVM dropped CR0.PG (kvm-pvm supports paging only in long mode)\n",
          );
          assert.equal(run.code, 3);
        } else {
          // A real KVM (VMX or SVM, e.g. the nested test host in tests/host/) runs it natively.
          assertRun(run, "Hello from paged mode\n");
        }
      },
    },
  ]);
});

/** A guest in two parts: offset 0 prints "X" and halts, offset 5 prints "Y\n" and halts. */
const TWO_ENTRIES = [...printCode("X"), 0xf4, ...printCode("Y\n"), 0xf4];
const SECOND_ENTRY = 5;

/** Real mode: prints CS (low byte, high byte), then halts. 8c c8 = MOV AX,CS; 88 e0 = MOV AL,AH. */
const PRINT_CS = [0x8c, 0xc8, 0xe6, 0xf1, 0x88, 0xe0, 0xe6, 0xf1, 0xf4];

Deno.test("microvmm loads a guest at --load and starts it at --entry", async (t) => {
  assert.equal(TWO_ENTRIES[SECOND_ENTRY - 1], 0xf4);
  using tmp = new TempDir();
  const twoEntries = tmp.file("two_entries.bin", TWO_ENTRIES);
  const printCs = tmp.file("print_cs.bin", PRINT_CS);
  const hex = (n: number) => `0x${n.toString(16)}`;
  await runCases(t, [
    {
      name: "hello at --load 0x8000 (entry defaults to the load address)",
      args: ["--load", "0x8000", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "hello at --load 32768 (decimal)",
      args: ["--load", "32768", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "hello at --load 0x20000, above the first 64 KiB",
      args: ["--load", "0x20000", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "at --load 0x20000 CS is the 64 KiB segment 0x2000",
      args: ["--load", "0x20000", printCs],
      check: (run) => {
        assert.deepEqual([...run.stdoutBytes], [0x00, 0x20]);
        assert.equal(run.stderr, "");
        assert.equal(run.code, 0);
      },
    },
    {
      name: "at the default load address CS is 0",
      args: [printCs],
      check: (run) => assert.deepEqual([...run.stdoutBytes], [0x00, 0x00]),
    },
    {
      name: "hello at --load 0xf0000, the last real-mode segment",
      args: ["--load", "0xf0000", "guests/hello.bin"],
      check: (run) => assertRun(run, "Hello\n"),
    },
    {
      name: "without --entry execution starts at the first byte",
      args: [twoEntries],
      check: (run) => assertRun(run, "X"),
    },
    {
      name: "--entry into the image, real mode",
      args: ["--entry", hex(0x1000 + SECOND_ENTRY), twoEntries],
      check: (run) => assertRun(run, "Y\n"),
    },
    {
      name: "--entry in decimal",
      args: ["--entry", String(0x1000 + SECOND_ENTRY), twoEntries],
      check: (run) => assertRun(run, "Y\n"),
    },
    {
      name: "--entry into an image at --load 0x8000",
      args: ["--load", "0x8000", "--entry", hex(0x8000 + SECOND_ENTRY), twoEntries],
      check: (run) => assertRun(run, "Y\n"),
    },
    {
      name: "--entry into an image at --load 0x20000 (real mode, above 64 KiB)",
      args: ["--load", "0x20000", "--entry", hex(0x20000 + SECOND_ENTRY), twoEntries],
      check: (run) => assertRun(run, "Y\n"),
    },
    {
      name: "--entry into the image, protected mode",
      args: ["--mode", "protected", "--entry", hex(0x1000 + SECOND_ENTRY), twoEntries],
      check: (run) => assertRun(run, "Y\n"),
    },
    {
      name: "--entry into an image at --load 0x100000, long mode",
      args: [
        "--mode",
        "long",
        "--load",
        "0x100000",
        "--entry",
        hex(0x100000 + SECOND_ENTRY),
        twoEntries,
      ],
      check: (run) => assertRun(run, "Y\n"),
    },
  ]);
});

Deno.test("microvmm reads a guest from a FIFO, as from a pipe", async () => {
  using tmp = new TempDir();
  const fifo = `${tmp.path}/guest.fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(made.code, 0, "mkfifo");
  // The writer is a process, so it can be ended even if microvmm never opens the FIFO.
  const writer = new Deno.Command("sh", {
    args: ["-c", 'exec cat "$0" >"$1"', `${GUESTS}/hello.bin`, fifo],
  }).spawn();
  try {
    assertRun(await microvmm([fifo]), "Hello\n");
  } finally {
    try {
      writer.kill();
    } catch {
      // It had already exited.
    }
    await writer.status;
  }
});
