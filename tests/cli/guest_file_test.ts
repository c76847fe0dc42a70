/**
 * Tests of openImageFile: a regular file is read at offsets and closed by dispose, a FIFO is read
 * into memory, and a file that shrinks while loading fails with one clear line.
 * @module
 */

import assert from "node:assert/strict";
import { ImageFile, openImageFile, ReadStopped } from "../../lib/cli/guest_file.ts";
import { ConfigError } from "../../lib/vmm/config_error.ts";

const bytes = new Uint8Array(100_000).map((_, i) => (i * 31 + 7) & 0xff);

Deno.test("openImageFile: a regular file is read at offsets, exactly", async () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(path, bytes);
    const image = await openImageFile(path, "kernel", 1 << 20);
    assert.ok(image instanceof ImageFile);
    using file = image;
    assert.equal(file.length, bytes.length);
    for (const [offset, length] of [[0, 16], [99_990, 10], [4096, 70_000], [12_345, 0]]) {
      const target = new Uint8Array(length);
      file.readInto(offset, target);
      assert.deepEqual(target, bytes.subarray(offset, offset + length), `${offset}+${length}`);
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("openImageFile: a file that shrank after opening fails with one line", async () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(path, bytes);
    using file = await openImageFile(path, "kernel", 1 << 20) as ImageFile;
    Deno.truncateSync(path, 50_000);
    assert.throws(() => file.readInto(40_000, new Uint8Array(20_000)), {
      name: ConfigError.name,
      message: `Cannot read kernel '${path}': it ends at 50000 bytes, short of the 100000 it ` +
        "had when opened (did it change while loading?)",
    });
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("openImageFile: a FIFO is read into memory; size and emptiness are checked first", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const fifo = `${dir}/kernel.fifo`;
    const made = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    assert.ok(made.success, "mkfifo");
    const writer = new Deno.Command("sh", { args: ["-c", `head -c 3000 /dev/zero > ${fifo}`] })
      .spawn();
    const image = await openImageFile(fifo, "kernel", 1 << 20);
    assert.ok(image instanceof Uint8Array);
    assert.equal(image.length, 3000);
    await writer.status;
    const empty = `${dir}/empty`;
    Deno.writeFileSync(empty, new Uint8Array(0));
    await assert.rejects(openImageFile(empty, "kernel", 1 << 20), {
      message: `Cannot load kernel '${empty}': it is empty`,
    });
    await assert.rejects(openImageFile(dir, "kernel", 1 << 20), {
      message: `Cannot read kernel '${dir}': it is a directory`,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openImageFile: a FIFO nobody writes gives way to the stop signal", async () => {
  // It used to be read with blocking calls: a FIFO without a writer held the process in open(2)
  // with no JavaScript running, so not even a second Ctrl-C could end it.
  const dir = Deno.makeTempDirSync();
  try {
    const fifo = `${dir}/kernel.fifo`;
    assert.ok(new Deno.Command("mkfifo", { args: [fifo] }).outputSync().success, "mkfifo");
    const stop = new AbortController();
    const opening = openImageFile(fifo, "kernel", 1 << 20, { stop: stop.signal });
    setTimeout(() => stop.abort(), 100);
    await assert.rejects(opening, {
      name: ReadStopped.name,
      message: "reading the kernel was stopped",
    });
    // Let the pending open(2) finish so the test leaks no operation: a writer that writes nothing.
    await Deno.writeFile(fifo, new Uint8Array(0));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
