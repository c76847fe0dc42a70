/**
 * Model-specific registers set before a Linux guest's first instruction (SDM Vol. 4).
 *
 * @module
 */

/** MSR numbers (SDM Vol. 4, Table 2-2). */
export const MSR = {
  IA32_TSC: 0x10,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_STAR: 0xc000_0081,
  IA32_LSTAR: 0xc000_0082,
  IA32_CSTAR: 0xc000_0083,
  IA32_FMASK: 0xc000_0084,
  IA32_KERNEL_GS_BASE: 0xc000_0102,
} as const;

/** IA32_MISC_ENABLE bit 0: fast-string operations enabled (what firmware leaves set). */
export const MISC_ENABLE_FAST_STRING = 1n;

/** The MSR values a freshly reset CPU has after firmware: syscall MSRs zero, fast strings on. */
export function bootMsrs(): { index: number; data: bigint }[] {
  return [
    { index: MSR.IA32_SYSENTER_CS, data: 0n },
    { index: MSR.IA32_SYSENTER_ESP, data: 0n },
    { index: MSR.IA32_SYSENTER_EIP, data: 0n },
    { index: MSR.IA32_STAR, data: 0n },
    { index: MSR.IA32_CSTAR, data: 0n },
    { index: MSR.IA32_KERNEL_GS_BASE, data: 0n },
    { index: MSR.IA32_FMASK, data: 0n },
    { index: MSR.IA32_LSTAR, data: 0n },
    { index: MSR.IA32_TSC, data: 0n },
    { index: MSR.IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
  ];
}

/** x87 FPU control word after FNINIT (SDM Vol. 1 §8.1.5). */
export const FPU_CONTROL_WORD = 0x37f;
/** MXCSR at reset: all SIMD exceptions masked (SDM Vol. 1 §10.2.3). */
export const MXCSR_DEFAULT = 0x1f80;

/** Local APIC register offsets: LVT LINT0 and LINT1 (SDM Vol. 3A §11.5.1). */
export const APIC_LVT_LINT0 = 0x350;
/** LVT LINT1 register offset. */
export const APIC_LVT_LINT1 = 0x360;
/** LVT delivery mode field (bits 10:8) values. */
export const APIC_DELIVERY_EXTINT = 0x7 << 8;
/** NMI delivery mode. */
export const APIC_DELIVERY_NMI = 0x4 << 8;

/**
 * Sets LINT0 to ExtINT (the 8259 PIC's output) and LINT1 to NMI in a `kvm_lapic_state` page, as
 * a PC BIOS leaves them (virtual wire mode), keeping the other LVT bits.
 */
export function setLapicVirtualWire(lapic: Uint8Array): void {
  const view = new DataView(lapic.buffer, lapic.byteOffset, lapic.byteLength);
  const deliveryMask = ~(0x7 << 8);
  view.setUint32(
    APIC_LVT_LINT0,
    ((view.getUint32(APIC_LVT_LINT0, true) & deliveryMask) | APIC_DELIVERY_EXTINT) >>> 0,
    true,
  );
  view.setUint32(
    APIC_LVT_LINT1,
    ((view.getUint32(APIC_LVT_LINT1, true) & deliveryMask) | APIC_DELIVERY_NMI) >>> 0,
    true,
  );
}
