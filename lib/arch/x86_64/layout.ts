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

/**
 * Guest-physical layout of a Linux boot, below 1 MiB (all inside the e820 RAM the kernel is
 * told about; it keeps the first 1 MiB to itself until it has read what it needs).
 */
export const LINUX_LAYOUT = {
  /** Boot GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18). */
  GDT: 0x500,
  /** PVH `hvm_start_info`, its module list and memory map. */
  PVH_START_INFO: 0x6000,
  /** `struct boot_params`, the zero page (RSI at the 64-bit entry). */
  ZERO_PAGE: 0x7000,
  /** Initial stack pointer. */
  BOOT_STACK: 0x8ff0,
  /** Identity page tables (PML4, PDPT, 4 page directories: the low 4 GiB). */
  PAGE_TABLES: 0x9000,
  /** Kernel command line. */
  CMDLINE: 0x20000,
  /** Room for the command line (the kernel's cmdline_size is usually smaller). */
  CMDLINE_MAX: 0x10000,
  /** Three pages KVM needs for the real-mode TSS on Intel (in the MMIO gap, not RAM). */
  TSS: 0xfffb_d000,
  /** One page for KVM's identity map on Intel (just below the TSS). */
  IDENTITY_MAP: 0xfffb_c000,
} as const;

/** The ISA interrupt line of COM1. */
export const COM1_IRQ = 4;
/** Ports of the i8042 keyboard controller (data, command/status). */
export const I8042_PORTS = { DATA: 0x60, COMMAND: 0x64 } as const;
/** Ports of the CMOS RTC (index, data). */
export const CMOS_PORT = 0x70;
