/**
 * Kernel loading entry point: tells an ELF `vmlinux` from a bzImage and loads either into guest
 * RAM.
 *
 * @module
 */

import { type BzImageKernel, HDR_LIMIT, isBzImage, loadBzImage } from "./bzimage.ts";
import { type ElfKernel, isElf, loadElf, type LoadOptions } from "./elf.ts";
import { type ImageSource, readRange, toSource } from "./image_source.ts";
import { sizeText } from "./_mem.ts";

/** A kernel loaded into guest RAM, by either loader. */
export type LoadedKernel = ElfKernel | BzImageKernel;

/** The two kernel formats microvmm boots. */
export type KernelFormat = "elf" | "bzimage";

/**
 * cmdline_size assumed for a vmlinux, which has no setup header: x86's COMMAND_LINE_SIZE (2048,
 * arch/x86/include/asm/setup.h) minus the terminating NUL, the value bzImages declare.
 */
export const VMLINUX_CMDLINE_SIZE = 2047;

/**
 * initrd_addr_max assumed for a vmlinux: 0x7fffffff, the value boot.rst gives for protocol 2.03+
 * kernels that leave the field alone ("the highest safe address").
 */
export const VMLINUX_INITRD_ADDR_MAX = 0x7fff_ffff;

/** Whether `bytes` is an ELF vmlinux or a bzImage; throws for anything else. */
export function detectKernel(bytes: Uint8Array): KernelFormat {
  if (isElf(bytes)) return "elf";
  if (isBzImage(bytes)) return "bzimage";
  throw new Error("not an ELF vmlinux or a bzImage (no ELF magic, no HdrS)");
}

/**
 * Loads a vmlinux or bzImage (bytes or a {@link ImageSource}) into `memory` (guest RAM, index =
 * guest-physical address) and returns where it lies and its entry points. A vmlinux's segments
 * go straight from the source into RAM; a bzImage (a few MB) is read whole. Errors are one line:
 * truncated files, malformed headers, a kernel larger than guest RAM. `options.zeroed`: see
 * {@link LoadOptions}.
 */
export function loadKernel(
  memory: Uint8Array,
  image: Uint8Array | ImageSource,
  options: LoadOptions = {},
): LoadedKernel {
  const source = toSource(image);
  if (detectKernel(readRange(source, 0, HDR_LIMIT)) === "elf") {
    return loadElf(memory, source, options);
  }
  if (source.length > memory.length) {
    // Checked before reading it whole: a bzImage's kernel part is loaded as it is.
    throw new Error(
      `kernel does not fit in guest RAM: the bzImage is ${source.length} bytes, ` +
        `guest RAM is ${sizeText(memory.length)}`,
    );
  }
  const bytes = image instanceof Uint8Array ? image : readRange(source, 0, source.length);
  return loadBzImage(memory, bytes);
}

/** The kernel's limits for the command line and the initrd (defaults for a vmlinux). */
export function kernelLimits(kernel: LoadedKernel): {
  cmdlineSize: number;
  initrdAddrMax: number;
} {
  return kernel.kind === "bzimage"
    ? { cmdlineSize: kernel.cmdlineSize, initrdAddrMax: kernel.initrdAddrMax }
    : { cmdlineSize: VMLINUX_CMDLINE_SIZE, initrdAddrMax: VMLINUX_INITRD_ADDR_MAX };
}
