/**
 * The `--kernel` CLI path (console escapes Ctrl-A x and Ctrl-A Ctrl-A, --trace, kernel file
 * sizes) with two tiny PVH "kernels" built here that run on every KVM, kvm-pvm included (a real
 * Linux needs the nested host: tests/linux/). Each is one PT_LOAD at 1 MiB and a PHYS32_ENTRY
 * note.
 *
 * @module
 */

import assert from "node:assert/strict";
import { le, makeElf, note } from "../arch/boot/_fixtures.ts";
import { microvmm, TempDir } from "./_run.ts";

const ENTRY = 0x100000;

/** A PVH kernel whose 32-bit entry code is `code`. */
function pvhKernel(code: number[]): Uint8Array {
  return makeElf({
    entry: BigInt(ENTRY),
    segments: [
      { vaddr: BigInt(ENTRY), paddr: ENTRY, data: new Uint8Array(code), flags: 5 },
      { type: 4, vaddr: 0n, paddr: 0, data: note("Xen", 18, le(ENTRY, 4)) },
    ],
  });
}

/** `jmp $`: never reads COM1, so typed bytes stay unread. */
const SPIN = [0xeb, 0xfe];

/** Echoes each byte COM1 receives; on 'q', `cli; hlt` (powered off: status 0). */
const ECHO = [
  ...[0x66, 0xba, 0xfd, 0x03], // 0: mov dx, 0x3fd (LSR)
  0xec, // 4: in al, dx
  ...[0xa8, 0x01], // 5: test al, 1 (data ready)
  ...[0x74, 0xfb], // 7: jz 4
  ...[0x66, 0xba, 0xf8, 0x03], // 9: mov dx, 0x3f8 (RBR/THR)
  0xec, // 13: in al, dx
  ...[0x3c, 0x71], // 14: cmp al, 'q'
  ...[0x74, 0x03], // 16: je 21
  0xee, // 18: out dx, al
  ...[0xeb, 0xeb], // 19: jmp 0
  0xfa, // 21: cli
  0xf4, // 22: hlt
];

Deno.test("--kernel with tiny PVH kernels: console escapes, --trace, a file over 1 GiB", async (t) => {
  using dir = new TempDir();
  const spin = dir.file("spin.elf", pvhKernel(SPIN));
  const echo = dir.file("echo.elf", pvhKernel(ECHO));

  await t.step("Ctrl-A x quits while the guest reads nothing and a typed key waits", async () => {
    // The escape used to be seen only when the UART took a byte: with its receive buffer full
    // ('a' unread), Ctrl-A x did nothing and only --timeout ended the run (status 124).
    const run = await microvmm(["--kernel", spin, "--timeout", "30"], { stdin: "a\x01x" });
    assert.equal(run.stderr, "microvmm: quit (Ctrl-A x)\n");
    assert.equal(run.code, 0);
  });

  await t.step("Ctrl-A Ctrl-A passes one Ctrl-A; other keys reach the guest as typed", async () => {
    const run = await microvmm(["--kernel", echo, "--timeout", "30"], { stdin: "ab\x01\x01c\nq" });
    assert.equal(run.stdout, "ab\x01c\n");
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
  });

  await t.step(
    "a vmlinux larger than 1 GiB (say, debug sections) boots: its size is no limit",
    async () => {
      // Only the headers and segments of a regular file are read; it was refused at 1 GiB, with
      // a message calling that limit RAM.
      const big = dir.file("big.elf", pvhKernel(SPIN));
      Deno.truncateSync(big, 1200 * 2 ** 20); // sparse: no disk used
      const run = await microvmm(["--kernel", big, "--timeout", "1"]);
      assert.equal(run.stderr, "microvmm: guest timed out after 1 s\n");
      assert.equal(run.code, 124);
    },
  );

  await t.step("--trace still reports the exits after Ctrl-A x", async () => {
    const run = await microvmm(["--kernel", echo, "--trace", "--timeout", "30"], {
      stdin: "\x01x",
    });
    const lines = run.stderr.split("\n");
    assert.equal(lines[0], "microvmm: quit (Ctrl-A x)");
    assert.match(lines[1], /^microvmm trace: exits: \d+$/);
    assert.ok(lines.some((l) => /^ {2}in {2}0x03fd: \d+$/.test(l)), "the LSR polls, counted");
    assert.equal(run.code, 0);
  });
});
