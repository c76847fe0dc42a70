/**
 * Tests of the PVH hvm_start_info writer: the exact bytes of the start info, module list and
 * memory map, and its errors.
 * @module
 */

import assert from "node:assert/strict";
import { buildE820 } from "../../../lib/arch/x86_64/boot/e820.ts";
import { pvhStartInfoSize, writePvhStartInfo } from "../../../lib/arch/x86_64/boot/pvh.ts";

const MiB = 2 ** 20;
const AT = 0x6000;

/** Little-endian bytes: u32 or u64 values in order. */
function bytes(...fields: [number | bigint, 4 | 8][]): number[] {
  const out: number[] = [];
  for (const [value, size] of fields) {
    let v = BigInt(value);
    for (let i = 0; i < size; i++, v >>= 8n) out.push(Number(v & 0xffn));
  }
  return out;
}

Deno.test("pvh: start info bytes", async (t) => {
  await t.step("with an initrd: start info, one module, memory map", () => {
    const memory = new Uint8Array(0x10000).fill(0xee);
    const memmap = buildE820(256 * MiB);
    const end = writePvhStartInfo(memory, AT, {
      cmdlineAddress: 0x20000,
      initrd: { address: 0x0f000000, size: 0x123456 },
      memmap,
    });
    assert.equal(end, AT + 56 + 32 + 3 * 24);
    assert.equal(pvhStartInfoSize(1, 3), 56 + 32 + 72);
    const want = [
      // struct hvm_start_info
      ...bytes([0x336ec578, 4], [1, 4], [0, 4], [1, 4]), // magic, version, flags, nr_modules
      ...bytes([AT + 56, 8], [0x20000, 8], [0, 8]), // modlist_paddr, cmdline_paddr, rsdp_paddr
      ...bytes([AT + 56 + 32, 8], [3, 4], [0, 4]), // memmap_paddr, memmap_entries, reserved
      // struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved
      ...bytes([0x0f000000, 8], [0x123456, 8], [0, 8], [0, 8]),
      // struct hvm_memmap_table_entry[3]: addr, size, type, reserved
      ...bytes([0, 8], [0x9fc00, 8], [1, 4], [0, 4]),
      ...bytes([0x9fc00, 8], [0x60400, 8], [2, 4], [0, 4]),
      ...bytes([0x100000, 8], [0x0ff00000, 8], [1, 4], [0, 4]),
    ];
    assert.deepEqual([...memory.subarray(AT, end)], want);
    assert.equal(memory[AT - 1], 0xee);
    assert.equal(memory[end], 0xee);
  });

  await t.step("without an initrd: no modules, memory map right after, an RSDP", () => {
    const memory = new Uint8Array(0x10000);
    const memmap = buildE820(8 * 2 ** 30);
    const end = writePvhStartInfo(memory, AT, { cmdlineAddress: 0x20000, memmap, rsdp: 0xe0000 });
    assert.equal(end, AT + 56 + 4 * 24);
    assert.deepEqual([...memory.subarray(AT, AT + 56)], [
      ...bytes([0x336ec578, 4], [1, 4], [0, 4], [0, 4]),
      ...bytes([0, 8], [0x20000, 8], [0xe0000, 8]),
      ...bytes([AT + 56, 8], [4, 4], [0, 4]),
    ]);
    assert.deepEqual(
      [...memory.subarray(AT + 56 + 3 * 24, end)],
      bytes([0x1_0000_0000, 8], [0x1_4000_0000, 8], [1, 4], [0, 4]),
    );
  });
});

Deno.test("pvh: errors", async (t) => {
  await t.step("an empty memory map", () => {
    assert.throws(
      () => writePvhStartInfo(new Uint8Array(4096), 0, { cmdlineAddress: 0, memmap: [] }),
      {
        message: "PVH memory map is empty",
      },
    );
  });

  await t.step("outside guest RAM", () => {
    assert.throws(
      () =>
        writePvhStartInfo(new Uint8Array(4096), 4000, {
          cmdlineAddress: 0,
          memmap: buildE820(2 * MiB),
        }),
      { message: "hvm_start_info [0xfa0, 0x1020) lies outside guest RAM (4 KiB)" },
    );
  });
});
