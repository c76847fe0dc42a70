/**
 * Tests of loading kernels through an ImageSource: the same result as from bytes, and a vmlinux
 * read only where its headers, notes and segments are (not the whole file).
 * @module
 */

import assert from "node:assert/strict";
import {
  bytesSource,
  type ImageSource,
  loadKernel,
  readRange,
} from "../../../lib/arch/x86_64/boot/index.ts";
import { makeBzImage, sampleVmlinux } from "./_fixtures.ts";

const MiB = 1024 * 1024;

/** A source over `bytes` that records every range read. */
function recording(bytes: Uint8Array): ImageSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes);
  const reads: [number, number][] = [];
  return {
    length: bytes.length,
    reads,
    readInto(offset: number, target: Uint8Array) {
      reads.push([offset, target.length]);
      inner.readInto(offset, target);
    },
  };
}

Deno.test("image source: a vmlinux loads the same from a source as from bytes", () => {
  const file = sampleVmlinux();
  const fromBytes = new Uint8Array(4 * MiB);
  const fromSource = new Uint8Array(4 * MiB);
  assert.deepEqual(loadKernel(fromSource, recording(file)), loadKernel(fromBytes, file));
  assert.deepEqual(fromSource, fromBytes);
});

Deno.test("image source: a vmlinux is read where its headers and segments are, not whole", () => {
  // 16 MiB of debug sections after the loaded parts: a real vmlinux is mostly such bytes.
  const loaded = sampleVmlinux();
  const file = new Uint8Array(loaded.length + 16 * MiB);
  file.set(loaded);
  const source = recording(file);
  loadKernel(new Uint8Array(4 * MiB), source);
  const total = source.reads.reduce((sum, [, length]) => sum + length, 0);
  // The first bytes are read twice (format detection, then the ELF header): a little over.
  assert.ok(total < 2 * loaded.length, `read ${total} bytes of a ${file.length}-byte file`);
  assert.ok(source.reads.every(([offset]) => offset < loaded.length), "nothing past the segments");
});

Deno.test("image source: a bzImage from a source loads the same as from bytes", () => {
  const file = makeBzImage({ cmdlineSize: 511 });
  const fromBytes = new Uint8Array(32 * MiB);
  const fromSource = new Uint8Array(32 * MiB);
  assert.deepEqual(loadKernel(fromSource, bytesSource(file)), loadKernel(fromBytes, file));
  assert.deepEqual(fromSource, fromBytes);
});

Deno.test("image source: readRange clips at the end, bytesSource refuses reads past it", () => {
  const source = bytesSource(new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual(readRange(source, 2, 10), new Uint8Array([3, 4]));
  assert.deepEqual(readRange(source, 9, 10), new Uint8Array(0));
  assert.throws(() => source.readInto(3, new Uint8Array(2)), {
    name: "RangeError",
    message: "read of 2 bytes at 3 past the image's end",
  });
});
