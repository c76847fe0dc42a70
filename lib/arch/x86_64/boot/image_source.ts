/**
 * ImageSource: random access to a kernel image, so that a loader can read its headers and copy
 * its segments straight into guest RAM without holding the whole file (a Debian vmlinux is 65 MB)
 * in memory first.
 *
 * @module
 */

/** A kernel image the loaders read from: bytes in memory or an open file. */
export interface ImageSource {
  /** Size in bytes. */
  readonly length: number;
  /**
   * Fills `target` with the bytes at `[offset, offset + target.length)`; throws when they are
   * not all there (the caller checks ranges against {@link length} first).
   */
  readInto(offset: number, target: Uint8Array): void;
}

/** An {@link ImageSource} over bytes already in memory. */
export function bytesSource(bytes: Uint8Array): ImageSource {
  return {
    length: bytes.length,
    readInto(offset: number, target: Uint8Array): void {
      if (offset < 0 || offset + target.length > bytes.length) {
        throw new RangeError(`read of ${target.length} bytes at ${offset} past the image's end`);
      }
      target.set(bytes.subarray(offset, offset + target.length));
    },
  };
}

/** `image` as a source (bytes are wrapped, a source is returned as is). */
export function toSource(image: Uint8Array | ImageSource): ImageSource {
  return image instanceof Uint8Array ? bytesSource(image) : image;
}

/** The bytes at `[offset, offset + length)`, clipped to the image's end. */
export function readRange(source: ImageSource, offset: number, length: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(0, Math.min(length, source.length - offset)));
  if (bytes.length > 0) source.readInto(offset, bytes);
  return bytes;
}
