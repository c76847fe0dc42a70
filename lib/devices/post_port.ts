/**
 * PostPort: port 0x80, where firmware writes POST codes and Linux's io_delay writes garbage.
 *
 * @module
 */

import type { BusDevice } from "./device.ts";

/**
 * Records the last byte written (shown in crash reports) and reads as 0xff. Never an error.
 *
 * @example
 * ```ts
 * import { PostPort } from "./post_port.ts";
 * const post = new PostPort();
 * post.write(0, new Uint8Array([0x42]));
 * console.log(post.lastCode); // 66
 * ```
 */
export class PostPort implements BusDevice {
  /** The last code written, or undefined before the first write. */
  lastCode: number | undefined;

  /** Reads as 0xff like an empty ISA port. */
  read(_offset: number, data: Uint8Array): void {
    data.fill(0xff);
  }

  /** Records the code. */
  write(_offset: number, data: Uint8Array): void {
    this.lastCode = data[0];
  }
}
