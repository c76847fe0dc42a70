/**
 * Linux boot-protocol writers for x86-64: kernel loaders (vmlinux, bzImage), the e820 map,
 * boot_params, the PVH start info, the command line and the initrd placement.
 *
 * @module
 */

export * from "./bzimage.ts";
export * from "./cmdline.ts";
export * from "./e820.ts";
export * from "./elf.ts";
export * from "./image_source.ts";
export * from "./initrd.ts";
export * from "./kernel.ts";
export * from "./mptable.ts";
export * from "./pvh.ts";
export * from "./zero_page.ts";
