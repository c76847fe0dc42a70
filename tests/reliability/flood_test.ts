/**
 * Output flood: a guest writing megabytes to the debug port through a slow reader loses no byte,
 * and the VMM's memory stays flat however much it writes.
 *
 * The size is a parameter: `MICROVMM_FLOOD_MIB` (default 1). On this kvm-pvm host every byte of
 * REP OUTSB is one exit (~12-15 µs), so 1 MiB takes ~15 s. A real KVM batches up to a page per
 * exit and runs 100 MiB in seconds, e.g. on the nested full-KVM host:
 *
 * ```sh
 * MICROVMM_FLOOD_MIB=100 deno test --allow-all tests/reliability/flood_test.ts
 * deno task nested -- env MICROVMM_FLOOD_MIB=100 deno test --allow-all tests/reliability/flood_test.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  blockedWriting,
  floodChunk,
  patchedGuest,
  readAll,
  rssKiB,
  spawnMicrovmm,
  TempFile,
} from "./_proc.ts";

const MIB = Number(Deno.env.get("MICROVMM_FLOOD_MIB") ?? "1");
const CHUNKS = Math.round(MIB * 256);
/**
 * The reader pauses at the start and half way until microvmm is blocked writing to the full pipe
 * (at most STALL_LIMIT_MS: under an emulated CPU the VMM may need seconds to start and fill it),
 * then STALL_MS longer.
 */
const STALL_MS = 1200;
const STALL_LIMIT_MS = 60_000;
/** Outside the pauses the reader takes at most this many bytes per second. */
const READ_RATE = 32 * 2 ** 20;
/**
 * Allowed RSS growth after the first tenth of the output. A run holds one 4 KiB console buffer;
 * what V8 and malloc do on their own moves RSS by ~1-2 MiB. Keeping 8 bytes per exit (1 MiB on
 * kvm-pvm is a million exits) or a copy of the output (at 100 MiB) would exceed it.
 */
const RSS_SLACK_KIB = 6 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks the stream against the flood pattern as it arrives; counts and checksums it. */
class FloodChecker {
  received = 0;
  mismatches = 0;
  firstMismatch = -1;
  /** FNV-1a over every byte. */
  checksum = 0x811c9dc5;
  #chunk = floodChunk(0);
  #chunkIndex = 0;

  add(bytes: Uint8Array): void {
    let checksum = this.checksum;
    for (const byte of bytes) {
      const offset = this.received & 4095;
      const k = this.received >>> 12;
      if (k !== this.#chunkIndex) {
        this.#chunkIndex = k;
        this.#chunk = floodChunk(k);
      }
      if (byte !== this.#chunk[offset]) {
        if (this.mismatches++ === 0) this.firstMismatch = this.received;
      }
      checksum = Math.imul(checksum ^ byte, 0x01000193) >>> 0;
      this.received++;
    }
    this.checksum = checksum;
  }
}

/** FNV-1a of the whole expected output. */
function expectedChecksum(chunks: number): number {
  let checksum = 0x811c9dc5;
  for (let k = 0; k < chunks; k++) {
    for (const byte of floodChunk(k)) checksum = Math.imul(checksum ^ byte, 0x01000193) >>> 0;
  }
  return checksum;
}

Deno.test(`${MIB} MiB of debug-port output through a slow reader: every byte, flat RSS`, async () => {
  using guest = new TempFile(patchedGuest("flood", 4, 256, CHUNKS));
  const total = CHUNKS * 4096;
  const start = performance.now();
  const child = spawnMicrovmm(["--mode", "long", guest.path]);
  const stderr = readAll(child.stderr);
  const checker = new FloodChecker();
  const samples: { at: number; rss: number }[] = [];
  let sawBlocked = false;
  const sampler = setInterval(() => {
    const rss = rssKiB(child.pid);
    if (rss !== undefined) samples.push({ at: checker.received, rss });
  }, 50);
  try {
    const reader = child.stdout.getReader();
    let stalledHalfWay = false;
    const stall = async () => {
      const limit = performance.now() + STALL_LIMIT_MS;
      let end = Infinity;
      while (performance.now() < Math.min(end, limit)) {
        if (blockedWriting(child.pid) && end === Infinity) {
          sawBlocked = true;
          end = performance.now() + STALL_MS;
        }
        await sleep(20);
      }
    };
    await stall();
    let windowStart = performance.now();
    let windowBytes = 0;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      checker.add(value);
      windowBytes += value.length;
      const ahead = windowBytes / READ_RATE * 1000 - (performance.now() - windowStart);
      if (ahead > 0) await sleep(ahead);
      if (!stalledHalfWay && checker.received >= total / 2) {
        stalledHalfWay = true;
        await stall();
        windowStart = performance.now();
        windowBytes = 0;
      }
    }
  } finally {
    clearInterval(sampler);
  }
  const status = await child.status;
  const seconds = (performance.now() - start) / 1000;
  assert.equal(new TextDecoder().decode(await stderr), "");
  assert.equal(status.code, 0);
  assert.equal(checker.received, total, "every byte arrived");
  assert.equal(checker.mismatches, 0, `bytes differ, first at ${checker.firstMismatch}`);
  assert.equal(checker.checksum, expectedChecksum(CHUNKS));
  assert.ok(sawBlocked, "the reader's pauses blocked microvmm's writes (backpressure)");

  const warm = samples.filter((s) => s.at >= total / 10);
  assert.ok(warm.length >= 3, `enough RSS samples after warm-up (${samples.length} in all)`);
  const base = warm[0].rss;
  const peak = Math.max(...warm.map((s) => s.rss));
  const last = warm.at(-1)!.rss;
  console.log(
    `flood ${MIB} MiB: ${seconds.toFixed(1)} s, ${(total / 2 ** 20 / seconds).toFixed(2)} MiB/s, ` +
      `checksum ${checker.checksum.toString(16)}, RSS after 10% ${base} KiB, peak ${peak} KiB, ` +
      `last ${last} KiB (${samples.length} samples)`,
  );
  assert.ok(
    peak - base <= RSS_SLACK_KIB,
    `RSS grew by ${peak - base} KiB with the output (from ${base} to ${peak} KiB)`,
  );
});
