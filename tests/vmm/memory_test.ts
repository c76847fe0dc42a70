/**
 * Tests of GuestMemory: size validation, zeroed mapping, 2 MiB host alignment, bounds-checked
 * write/read, zero-copy views, dispose twice, use after dispose, and `pageAlign`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { GuestMemory, pageAlign } from "../../lib/vmm/memory.ts";

const KIB = 1024;

Deno.test("GuestMemory rejects sizes that are not positive multiples of 4 KiB", async (t) => {
  for (const size of [0, -4096, 4095, 4097, 1.5 * 4096, NaN, 2 ** 53]) {
    await t.step(String(size), () => {
      assert.throws(() => new GuestMemory(size), {
        name: "RangeError",
        message: `Cannot map guest memory: size ${size} is not a positive multiple of 4 KiB`,
      });
    });
  }
});

Deno.test("GuestMemory maps zeroed RAM and copies bytes in and out", () => {
  using memory = new GuestMemory(64 * KIB);
  assert.equal(memory.size, 65536);
  assert.equal(memory.bytes.length, 65536);
  assert.ok(memory.bytes.every((b) => b === 0), "fresh RAM is zero");
  assert.ok(memory.hostAddress > 0n);
  assert.equal(memory.hostAddress % 4096n, 0n, "the mapping is page aligned");

  memory.write(0x1000, Uint8Array.of(0xb0, 0x48, 0xe6, 0xf1));
  const copy = memory.read(0x1000, 4);
  assert.deepEqual(copy, Uint8Array.of(0xb0, 0x48, 0xe6, 0xf1));
  copy[0] = 0;
  assert.equal(memory.bytes[0x1000], 0xb0, "read() returns a copy");
  memory.view.setUint32(0x2000, 0x44556677, true);
  assert.deepEqual(memory.read(0x2000, 4), Uint8Array.of(0x77, 0x66, 0x55, 0x44), "view is live");
  memory.write(0xfffc, Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(memory.read(0xfffc, 4), Uint8Array.of(1, 2, 3, 4), "the last 4 bytes");
  assert.deepEqual(memory.read(0x10000, 0), new Uint8Array(0), "an empty read at the end");
});

Deno.test("GuestMemory bounds-checks every access with a RangeError", async (t) => {
  using memory = new GuestMemory(64 * KIB);
  const cases: [string, () => unknown, string][] = [
    ["a write past the end", () => memory.write(0xfffd, new Uint8Array(4)), "0xfffd+4"],
    ["a write at the end", () => memory.write(0x10000, new Uint8Array(1)), "0x10000+1"],
    ["a read past the end", () => memory.read(0xffff, 2), "0xffff+2"],
    ["a negative address", () => memory.read(-1, 1), "-1+1"],
    ["a negative length", () => memory.read(0, -1), "0x0+-1"],
    ["a fractional address", () => memory.read(0.5, 1), "0.5+1"],
    ["a huge address", () => memory.checkRange(2 ** 60, 1), "0x1000000000000000+1"],
  ];
  for (const [what, access, range] of cases) {
    await t.step(what, () => {
      assert.throws(access, {
        name: "RangeError",
        message: `Guest memory access out of range: ${range} (RAM is 0x0-0x10000)`,
      });
    });
  }
  assert.ok(memory.bytes.every((b) => b === 0), "no failed write touched RAM");
});

Deno.test("GuestMemory of 2 MiB or more starts on a 2 MiB host boundary (KVM huge pages)", () => {
  for (const size of [2 * 1024 * KIB, 6 * 1024 * KIB + 4 * KIB]) {
    using memory = new GuestMemory(size);
    assert.equal(memory.hostAddress % (2n * 1024n * 1024n), 0n, `${size} bytes`);
    memory.bytes[size - 1] = 1;
    assert.equal(memory.read(size - 1, 1)[0], 1, "the last byte is mapped");
  }
});

Deno.test("views of guest RAM kept from before dispose are detached, not left on unmapped memory", () => {
  // Reading unmapped memory would kill the test process with SIGSEGV, not fail an assertion.
  const memory = new GuestMemory(64 * KIB);
  const bytes = memory.bytes;
  const view = memory.view;
  const part = bytes.subarray(0x1000, 0x2000);
  bytes[0x1000] = 7;
  assert.equal(part[0], 7);
  memory[Symbol.dispose]();
  assert.equal(bytes.length, 0);
  assert.equal(bytes[0x1000], undefined);
  assert.equal(part.length, 0);
  assert.equal(part[0], undefined);
  assert.throws(() => view.getUint8(0x1000), TypeError);
});

Deno.test("GuestMemory can be disposed twice and throws when used afterwards", () => {
  const memory = new GuestMemory(64 * KIB);
  memory.write(0, Uint8Array.of(1));
  memory[Symbol.dispose]();
  memory[Symbol.dispose]();
  const disposed = { name: "Error", message: "Cannot use guest memory: it was disposed" };
  assert.throws(() => memory.bytes, disposed);
  assert.throws(() => memory.view, disposed);
  assert.throws(() => memory.hostAddress, disposed);
  assert.throws(() => memory.read(0, 1), disposed);
  assert.throws(() => memory.write(0, Uint8Array.of(1)), disposed);
  assert.equal(memory.size, 65536, "the size stays readable");
});

Deno.test("pageAlign() rounds up to a multiple of 4 KiB", () => {
  assert.deepEqual(
    [0, 1, 4095, 4096, 4097, 65535, 2 * 1024 * KIB].map(pageAlign),
    [0, 4096, 4096, 4096, 8192, 65536, 2 * 1024 * KIB],
  );
});

Deno.test("GuestMemory asks for transparent huge pages (madvise), whatever the host's THP default", () => {
  const thp = (() => {
    try {
      return Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled");
    } catch {
      return undefined;
    }
  })();
  using memory = new GuestMemory(4 * 1024 * 1024);
  const start = memory.hostAddress;
  // /proc/self/smaps: "start-end perms ..." then fields, "VmFlags: ... hg ..." for MADV_HUGEPAGE.
  const blocks = Deno.readTextFileSync("/proc/self/smaps").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const block = blocks.find((b) => BigInt(`0x${b.slice(0, b.indexOf("-"))}`) === start);
  assert.ok(block, "the guest RAM mapping is in /proc/self/smaps");
  const flags = block.match(/^VmFlags:(.*)$/m)?.[1].trim().split(" ") ?? [];
  if (thp === undefined) {
    // A kernel without THP refuses the advice (EINVAL) and the RAM works the same.
    assert.ok(!flags.includes("hg"), "no THP: no huge page advice");
  } else {
    assert.ok(flags.includes("hg"), `VmFlags has hg (MADV_HUGEPAGE): ${flags.join(" ")}`);
  }
});
