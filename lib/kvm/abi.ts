/**
 * The KVM ABI as microvmm uses it: ioctl numbers, constants and one offset table per struct,
 * all from `<linux/kvm.h>` (x86-64). `tests/kvm/abi_test.ts` checks every entry against gcc.
 *
 * @module
 */

/** The KVM API version this code speaks (`KVM_GET_API_VERSION` must return it). */
export const KVM_API_VERSION = 12;

/** ioctl request numbers, named as in `<linux/kvm.h>`. */
export const IOCTLS = {
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_CREATE_VCPU: 0xae41,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_TSS_ADDR: 0xae47,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_CREATE_IRQCHIP: 0xae60,
  KVM_IRQ_LINE: 0x4008ae61,
  KVM_CREATE_PIT2: 0x4040ae77,
  KVM_SET_IDENTITY_MAP_ADDR: 0x4008ae48,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_GET_MSRS: 0xc008ae88,
  KVM_SET_MSRS: 0x4008ae89,
  KVM_SET_FPU: 0x41a0ae8d,
  KVM_GET_LAPIC: 0x8400ae8e,
  KVM_SET_LAPIC: 0x4400ae8f,
  KVM_GET_MP_STATE: 0x8004ae98,
} as const;

/** Name of a KVM ioctl in {@link IOCTLS}. */
export type IoctlName = keyof typeof IOCTLS;

/** Capabilities queried with `KVM_CHECK_EXTENSION`. */
export const CAPS = {
  KVM_CAP_USER_MEMORY: 3,
  KVM_CAP_SET_TSS_ADDR: 4,
  KVM_CAP_NR_VCPUS: 9,
  KVM_CAP_NR_MEMSLOTS: 10,
  KVM_CAP_IMMEDIATE_EXIT: 136,
  KVM_CAP_IRQCHIP: 0,
  KVM_CAP_EXT_CPUID: 7,
  KVM_CAP_PIT2: 33,
  KVM_CAP_SET_IDENTITY_MAP_ADDR: 37,
  KVM_CAP_TSC_DEADLINE_TIMER: 72,
} as const;

/** Name of a capability in {@link CAPS}. */
export type CapName = keyof typeof CAPS;

/** `kvm_run.exit_reason` values (KVM_EXIT_*). */
export const EXIT_REASONS = {
  KVM_EXIT_UNKNOWN: 0,
  KVM_EXIT_EXCEPTION: 1,
  KVM_EXIT_IO: 2,
  KVM_EXIT_HYPERCALL: 3,
  KVM_EXIT_DEBUG: 4,
  KVM_EXIT_HLT: 5,
  KVM_EXIT_MMIO: 6,
  KVM_EXIT_IRQ_WINDOW_OPEN: 7,
  KVM_EXIT_SHUTDOWN: 8,
  KVM_EXIT_FAIL_ENTRY: 9,
  KVM_EXIT_INTR: 10,
  KVM_EXIT_SET_TPR: 11,
  KVM_EXIT_TPR_ACCESS: 12,
  KVM_EXIT_NMI: 16,
  KVM_EXIT_INTERNAL_ERROR: 17,
  KVM_EXIT_SYSTEM_EVENT: 24,
  KVM_EXIT_IOAPIC_EOI: 26,
  KVM_EXIT_X86_RDMSR: 29,
  KVM_EXIT_X86_WRMSR: 30,
  KVM_EXIT_X86_BUS_LOCK: 33,
  KVM_EXIT_NOTIFY: 37,
} as const;

/** `kvm_run.io.direction` values. */
export const KVM_EXIT_IO_IN = 0;
/** `kvm_run.io.direction` value of an OUT instruction. */
export const KVM_EXIT_IO_OUT = 1;

/** `kvm_run.internal.suberror` values (KVM_INTERNAL_ERROR_*). */
export const INTERNAL_ERRORS = {
  KVM_INTERNAL_ERROR_EMULATION: 1,
  KVM_INTERNAL_ERROR_SIMUL_EX: 2,
  KVM_INTERNAL_ERROR_DELIVERY_EV: 3,
  KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: 4,
} as const;

/** `emulation_failure.flags` bit: insn_size/insn_bytes are valid. */
export const KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

/** `kvm_run.system_event.type` values (KVM_SYSTEM_EVENT_*). */
export const SYSTEM_EVENTS = {
  KVM_SYSTEM_EVENT_SHUTDOWN: 1,
  KVM_SYSTEM_EVENT_RESET: 2,
  KVM_SYSTEM_EVENT_CRASH: 3,
  KVM_SYSTEM_EVENT_WAKEUP: 4,
  KVM_SYSTEM_EVENT_SUSPEND: 5,
  KVM_SYSTEM_EVENT_SEV_TERM: 6,
} as const;

/** `struct kvm_regs`: general purpose registers, u64 each. */
export const KVM_REGS = {
  size: 144,
  rax: 0,
  rbx: 8,
  rcx: 16,
  rdx: 24,
  rsi: 32,
  rdi: 40,
  rsp: 48,
  rbp: 56,
  r8: 64,
  r9: 72,
  r10: 80,
  r11: 88,
  r12: 96,
  r13: 104,
  r14: 112,
  r15: 120,
  rip: 128,
  rflags: 136,
} as const;

/** `struct kvm_segment`: a segment register with its hidden part. */
export const KVM_SEGMENT = {
  size: 24,
  base: 0, // u64
  limit: 8, // u32
  selector: 12, // u16
  type: 14, // u8 from here on
  present: 15,
  dpl: 16,
  db: 17,
  s: 18,
  l: 19,
  g: 20,
  avl: 21,
  unusable: 22,
} as const;

/** `struct kvm_dtable`: GDTR/IDTR. */
export const KVM_DTABLE = { size: 16, base: 0, limit: 8 } as const;

/** `struct kvm_sregs`: segment, descriptor-table and control registers. */
export const KVM_SREGS = {
  size: 312,
  cs: 0,
  ds: 24,
  es: 48,
  fs: 72,
  gs: 96,
  ss: 120,
  tr: 144,
  ldt: 168,
  gdt: 192,
  idt: 208,
  cr0: 224,
  cr2: 232,
  cr3: 240,
  cr4: 248,
  cr8: 256,
  efer: 264,
  apic_base: 272,
  interrupt_bitmap: 280,
} as const;

/** `struct kvm_userspace_memory_region`. */
export const KVM_USERSPACE_MEMORY_REGION = {
  size: 32,
  slot: 0, // u32
  flags: 4, // u32
  guest_phys_addr: 8,
  memory_size: 16,
  userspace_addr: 24,
} as const;

/** `struct kvm_run` and the parts of its exit union microvmm decodes (offsets from its start). */
export const KVM_RUN = {
  request_interrupt_window: 0, // u8
  immediate_exit: 1, // u8
  exit_reason: 8, // u32
  ready_for_interrupt_injection: 12, // u8
  if_flag: 13, // u8
  flags: 14, // u16
  cr8: 16,
  apic_base: 24,
  // The exit union starts at 32.
  hw_hardware_exit_reason: 32, // u64
  fail_entry_hardware_entry_failure_reason: 32, // u64
  fail_entry_cpu: 40, // u32
  ex_exception: 32, // u32
  ex_error_code: 36, // u32
  io_direction: 32, // u8
  io_size: 33, // u8
  io_port: 34, // u16
  io_count: 36, // u32
  io_data_offset: 40, // u64
  mmio_phys_addr: 32, // u64
  mmio_data: 40, // u8[8]
  mmio_len: 48, // u32
  mmio_is_write: 52, // u8
  internal_suberror: 32, // u32
  internal_ndata: 36, // u32
  internal_data: 40, // u64[16]
  emulation_failure_flags: 40, // u64
  emulation_failure_insn_size: 48, // u8
  emulation_failure_insn_bytes: 49, // u8[15]
  system_event_type: 32, // u32
  system_event_ndata: 36, // u32
  system_event_data: 40, // u64[16]
} as const;

/** `struct kvm_cpuid2`: a header followed by `nent` entries. */
export const KVM_CPUID2 = { size: 8, nent: 0, entries: 8 } as const;

/** `struct kvm_cpuid_entry2`: one CPUID leaf/subleaf. */
export const KVM_CPUID_ENTRY2 = {
  size: 40,
  function: 0,
  index: 4,
  flags: 8,
  eax: 12,
  ebx: 16,
  ecx: 20,
  edx: 24,
} as const;

/** `kvm_cpuid_entry2.flags` bit: the leaf has subleaves selected by ECX (index). */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

/** `struct kvm_msrs`: a header followed by `nmsrs` entries. */
export const KVM_MSRS = { size: 8, nmsrs: 0, entries: 8 } as const;

/** `struct kvm_msr_entry`. */
export const KVM_MSR_ENTRY = { size: 16, index: 0, data: 8 } as const;

/** `struct kvm_fpu` (legacy FXSAVE-like layout). */
export const KVM_FPU = { size: 416, fcw: 128, fsw: 130, ftwx: 132, mxcsr: 408 } as const;

/** `struct kvm_pit_config`. */
export const KVM_PIT_CONFIG = { size: 64, flags: 0 } as const;

/** `kvm_pit_config.flags`: a dummy speaker port (0x61) so guests can poke it. */
export const KVM_PIT_SPEAKER_DUMMY = 1;

/** `struct kvm_irq_level`. */
export const KVM_IRQ_LEVEL = { size: 8, irq: 0, level: 4 } as const;

/** `struct kvm_lapic_state`: the local APIC register page. */
export const KVM_LAPIC_STATE = { size: 1024 } as const;

/** `struct kvm_mp_state`. */
export const KVM_MP_STATE = { size: 4, mp_state: 0 } as const;

/** `kvm_mp_state.mp_state` values. */
export const MP_STATES = {
  KVM_MP_STATE_RUNNABLE: 0,
  KVM_MP_STATE_UNINITIALIZED: 1,
  KVM_MP_STATE_INIT_RECEIVED: 2,
  KVM_MP_STATE_HALTED: 3,
} as const;
