/**
 * Every guest-visible address and port microvmm uses by default, in one place.
 *
 * @module
 */

/** Where a flat guest image is loaded when `--load` is not given (the seed's address). */
export const DEFAULT_LOAD_ADDRESS = 0x1000;

/** Default guest RAM size: 2 MiB, plenty for flat guests. */
export const DEFAULT_MEM_SIZE = 2 * 1024 * 1024;

/** Smallest accepted guest RAM size (one 64 KiB real-mode segment). */
export const MIN_MEM_SIZE = 64 * 1024;

/**
 * Size of the VMM area at the top of guest RAM (or just below 4 GiB when RAM is larger): it
 * holds the GDT and page tables in protected, paged and long mode, and the initial stack grows
 * down from its start. A guest image may not overlap it.
 */
export const VMM_AREA_SIZE = 64 * 1024;

/** Ports of the devices every flat-guest VM gets. */
export const PORTS = {
  /** The seed's output port: every byte written goes to stdout. */
  SEED_CONSOLE: 0xf1,
  /** QEMU/Bochs debugcon: every byte written goes to stdout; reads return 0xe9. */
  DEBUGCON: 0xe9,
  /** isa-debug-exit style: writing v stops the VM, the process exits with status v & 0xff. */
  EXIT: 0xf4,
  /** POST code port (also Linux's io_delay): writes recorded, reads 0xff, never an error. */
  POST: 0x80,
  /** COM1: a 16550 UART, eight ports. */
  COM1: 0x3f8,
} as const;

/** Guest-physical address of an MMIO window guests can poke in tests (unbacked by RAM). */
export const TEST_MMIO_BASE = 0xd000_0000;
