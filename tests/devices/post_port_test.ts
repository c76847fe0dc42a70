/**
 * Tests of PostPort, port 0x80: records the last POST code, reads as 0xff, never fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PostPort } from "../../lib/devices/post_port.ts";

Deno.test("PostPort has no code before the first write", () => {
  assert.equal(new PostPort().lastCode, undefined);
});

Deno.test("PostPort keeps the last code written (the low byte of wider writes)", () => {
  const post = new PostPort();
  post.write(0, Uint8Array.of(0x12));
  assert.equal(post.lastCode, 0x12);
  post.write(0, Uint8Array.of(0x00));
  assert.equal(post.lastCode, 0x00);
  post.write(0, Uint8Array.of(0x34, 0x56));
  assert.equal(post.lastCode, 0x34);
});

Deno.test("PostPort reads as 0xff in every byte", () => {
  const post = new PostPort();
  post.write(0, Uint8Array.of(0x42));
  const data = new Uint8Array(4);
  post.read(0, data);
  assert.deepEqual(data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  assert.equal(post.lastCode, 0x42, "a read does not change the code");
});
