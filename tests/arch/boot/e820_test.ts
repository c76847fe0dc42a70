/**
 * Tests of the e820 map and the RAM slots for small, large and above-the-gap guests.
 * @module
 */

import assert from "node:assert/strict";
import {
  buildE820,
  E820_RAM,
  E820_RESERVED,
  ramRegions,
} from "../../../lib/arch/x86_64/boot/e820.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const low = { address: 0, size: 0x9fc00, type: E820_RAM };
const hole = { address: 0x9fc00, size: 0x60400, type: E820_RESERVED };

Deno.test("e820: maps", async (t) => {
  await t.step("2 MiB", () => {
    assert.deepEqual(buildE820(2 * MiB), [
      low,
      hole,
      { address: 0x100000, size: 0x100000, type: E820_RAM },
    ]);
  });

  await t.step("256 MiB", () => {
    assert.deepEqual(buildE820(256 * MiB), [
      low,
      hole,
      { address: 0x100000, size: 0x0ff00000, type: E820_RAM },
    ]);
  });

  await t.step("3 GiB: all of it below the gap", () => {
    assert.deepEqual(buildE820(3 * GiB), [
      low,
      hole,
      { address: 0x100000, size: 0xbff00000, type: E820_RAM },
    ]);
  });

  await t.step("4 GiB: 1 GiB moves above 4 GiB", () => {
    assert.deepEqual(buildE820(4 * GiB), [
      low,
      hole,
      { address: 0x100000, size: 0xbff00000, type: E820_RAM },
      { address: 0x1_0000_0000, size: 0x4000_0000, type: E820_RAM },
    ]);
  });

  await t.step("8 GiB", () => {
    assert.deepEqual(buildE820(8 * GiB), [
      low,
      hole,
      { address: 0x100000, size: 0xbff00000, type: E820_RAM },
      { address: 0x1_0000_0000, size: 0x1_4000_0000, type: E820_RAM },
    ]);
  });

  await t.step("less than 640 KiB: no RAM above the hole", () => {
    assert.deepEqual(buildE820(512 * 1024), [{ address: 0, size: 0x80000, type: E820_RAM }, hole]);
  });

  await t.step("a bad size is an error", () => {
    assert.throws(() => buildE820(0), { message: "guest RAM size 0 is not a positive integer" });
    assert.throws(() => ramRegions(1.5), {
      message: "guest RAM size 1.5 is not a positive integer",
    });
  });
});

Deno.test("e820: RAM slots", async (t) => {
  await t.step("2 MiB and 256 MiB: one slot", () => {
    assert.deepEqual(ramRegions(2 * MiB), [{ guestAddress: 0, size: 2 * MiB, hostOffset: 0 }]);
    assert.deepEqual(ramRegions(256 * MiB), [{ guestAddress: 0, size: 256 * MiB, hostOffset: 0 }]);
  });

  await t.step("4 GiB: 3 GiB low, 1 GiB at 4 GiB", () => {
    assert.deepEqual(ramRegions(4 * GiB), [
      { guestAddress: 0, size: 3 * GiB, hostOffset: 0 },
      { guestAddress: 4 * GiB, size: GiB, hostOffset: 3 * GiB },
    ]);
  });

  await t.step("8 GiB: 3 GiB low, 5 GiB at 4 GiB", () => {
    assert.deepEqual(ramRegions(8 * GiB), [
      { guestAddress: 0, size: 3 * GiB, hostOffset: 0 },
      { guestAddress: 4 * GiB, size: 5 * GiB, hostOffset: 3 * GiB },
    ]);
  });

  await t.step("every usable e820 byte is backed by a slot", () => {
    for (const mem of [2 * MiB, 256 * MiB, 4 * GiB, 8 * GiB]) {
      const slots = ramRegions(mem);
      assert.equal(slots.reduce((n, s) => n + s.size, 0), mem);
      for (const e of buildE820(mem).filter((e) => e.type === E820_RAM)) {
        assert.ok(
          slots.some((s) =>
            e.address >= s.guestAddress && e.address + e.size <= s.guestAddress + s.size
          ),
          `${mem}: ${JSON.stringify(e)}`,
        );
      }
    }
  });
});
