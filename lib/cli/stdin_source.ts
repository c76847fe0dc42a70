/**
 * A non-blocking byte source on the process's stdin (poll + read through libc), for COM1.
 *
 * @module
 */

import { libc } from "../kvm/ffi.ts";

const STDIN_FD = 0;
const POLLIN = 0x1;
const POLLHUP = 0x10;
const POLLERR = 0x8;
/** `struct pollfd`: fd i32 at 0, events i16 at 4, revents i16 at 6. */
const POLLFD_SIZE = 8;

/**
 * Returns a function giving the next stdin byte if one is ready now, else null. Never blocks.
 * After end of file (or an error) it always returns null.
 */
export function stdinSource(fd = STDIN_FD): () => number | null {
  const pollfd = new Uint8Array(POLLFD_SIZE);
  const pollView = new DataView(pollfd.buffer);
  const buffer = new Uint8Array(4096);
  let start = 0;
  let end = 0;
  let ended = false;
  return () => {
    if (start < end) return buffer[start++];
    if (ended) return null;
    pollView.setInt32(0, fd, true);
    pollView.setInt16(4, POLLIN, true);
    pollView.setInt16(6, 0, true);
    if (libc().poll(pollfd, 1n, 0) <= 0) return null;
    const revents = pollView.getInt16(6, true);
    if ((revents & (POLLIN | POLLHUP | POLLERR)) === 0) return null;
    const count = Number(libc().read(fd, buffer, BigInt(buffer.length)));
    if (count <= 0) {
      ended = true;
      return null;
    }
    start = 1;
    end = count;
    return buffer[0];
  };
}
