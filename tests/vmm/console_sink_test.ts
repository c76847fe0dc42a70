/**
 * Tests of ConsoleSink's line buffering (newline, 4 KiB and explicit flushes) and of
 * `fileWriter`'s partial-write loop and broken-pipe handling.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConsoleSink, fileWriter } from "../../lib/vmm/console_sink.ts";

/** A sink whose writer records a copy of every chunk it is handed. */
function recordingSink() {
  const chunks: number[][] = [];
  const sink = new ConsoleSink((bytes) => chunks.push([...bytes]));
  const put = (text: string) => {
    for (const byte of new TextEncoder().encode(text)) sink.put(byte);
  };
  return { sink, chunks, put };
}

const text = (chunk: number[]) => new TextDecoder().decode(new Uint8Array(chunk));

Deno.test("ConsoleSink hands each line to the writer at its newline", () => {
  const { sink, chunks, put } = recordingSink();
  put("Hel");
  assert.equal(chunks.length, 0, "nothing before the newline");
  put("lo\nwor");
  assert.deepEqual(chunks.map(text), ["Hello\n"]);
  put("ld\n\n");
  assert.deepEqual(chunks.map(text), ["Hello\n", "world\n", "\n"]);
  assert.equal(sink.written, 13);
});

Deno.test("ConsoleSink flushes when 4 KiB are pending without a newline", () => {
  const { sink, chunks } = recordingSink();
  for (let i = 0; i < 4095; i++) sink.put(0x41 + (i % 26));
  assert.equal(chunks.length, 0, "4095 bytes stay buffered");
  sink.put(0x21);
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0].length, 4096);
  assert.equal(chunks[0][0], 0x41);
  assert.equal(chunks[0][4094], 0x41 + (4094 % 26));
  assert.equal(chunks[0][4095], 0x21);
  sink.put(0x7a);
  sink.flush();
  assert.deepEqual(chunks[1], [0x7a], "the buffer starts over after a full flush");
  assert.equal(sink.written, 4097);
});

Deno.test("ConsoleSink.flush() hands over a partial line once and is a no-op when empty", () => {
  const { sink, chunks, put } = recordingSink();
  sink.flush();
  assert.equal(chunks.length, 0, "an empty flush does not call the writer");
  put("prompt> ");
  sink.flush();
  sink.flush();
  assert.deepEqual(chunks.map(text), ["prompt> "]);
  for (const byte of [0x00, 0xff, 0x1b]) sink.put(byte);
  sink.flush();
  assert.deepEqual(chunks[1], [0x00, 0xff, 0x1b], "raw bytes pass through unchanged");
});

Deno.test("fileWriter writes everything through partial writes", () => {
  const received: number[] = [];
  const sizes: number[] = [];
  const file = {
    writeSync(p: Uint8Array): number {
      const n = Math.min(p.length, 3); // at most 3 bytes per call
      sizes.push(p.length);
      received.push(...p.subarray(0, n));
      return n;
    },
  };
  const write = fileWriter(file);
  write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  assert.deepEqual(received, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(sizes, [8, 5, 2], "each call gets the remaining bytes");
  write(new Uint8Array(0));
  assert.deepEqual(sizes, [8, 5, 2], "an empty chunk makes no call");
});

Deno.test("fileWriter drops output after a write fails, warning unless the pipe broke", async (t) => {
  await t.step("BrokenPipe: silent, and no more writes are attempted", () => {
    let calls = 0;
    const write = fileWriter({
      writeSync(): number {
        calls++;
        throw new Deno.errors.BrokenPipe("reader went away");
      },
    });
    write(Uint8Array.of(1));
    write(Uint8Array.of(2));
    assert.equal(calls, 1);
  });
  await t.step("WouldBlock (a full non-blocking pipe) waits and retries: nothing dropped", () => {
    // Output used to be dropped for good, with status 0, when another program had set
    // O_NONBLOCK on the pipe microvmm writes to.
    const written: number[] = [];
    let refusals = 2;
    let waits = 0;
    const write = fileWriter(
      {
        writeSync(p: Uint8Array): number {
          if (refusals > 0) {
            refusals--;
            throw new Deno.errors.WouldBlock("Resource temporarily unavailable (os error 11)");
          }
          written.push(p[0]);
          return 1;
        },
      },
      (line) => assert.fail(`unexpected warning: ${line}`),
      () => waits++,
    );
    write(Uint8Array.of(1, 2, 3));
    assert.deepEqual(written, [1, 2, 3]);
    assert.equal(waits, 2);
  });
  await t.step("any other error is reported once, then output is dropped", () => {
    let calls = 0;
    const warnings: string[] = [];
    const write = fileWriter({
      writeSync(): number {
        calls++;
        throw new Deno.errors.PermissionDenied("nope");
      },
    }, (line) => warnings.push(line));
    write(Uint8Array.of(1));
    write(Uint8Array.of(2));
    assert.equal(calls, 1);
    assert.deepEqual(warnings, ["microvmm: cannot write guest output (nope); dropping the rest"]);
  });
  await t.step("a BrokenPipe through the sink loses no earlier line", () => {
    const lines: string[] = [];
    let broken = false;
    const sink = new ConsoleSink(fileWriter({
      writeSync(p: Uint8Array): number {
        if (broken) throw new Deno.errors.BrokenPipe("gone");
        lines.push(new TextDecoder().decode(p));
        return p.length;
      },
    }));
    for (const b of new TextEncoder().encode("one\n")) sink.put(b);
    broken = true;
    for (const b of new TextEncoder().encode("two\n")) sink.put(b);
    assert.deepEqual(lines, ["one\n"]);
    assert.equal(sink.written, 8, "the guest's bytes are still counted");
  });
});
