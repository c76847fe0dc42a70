/**
 * Every bad call of the module API with the error it must throw: run and rendered into
 * BAD_INPUT.md by bad_input_table_test.ts.
 *
 * @module
 */

import { type CpuMode, LinuxVm, Vm } from "../../mod.ts";
import { READ_ONLY_SYSFS } from "../cli/_bad_inputs.ts";
import { GUESTS } from "./_proc.ts";

const HLT = Uint8Array.of(0xf4);
const quiet = { output: () => {} };

/** One bad call of the module API and the error it must throw. */
export interface ApiBadInput {
  group: string;
  name: string;
  /** The call, as shown in the table. */
  call: string;
  /** The error's name. */
  error: string;
  message: string;
  pvmOnly?: boolean;
  /** Makes the call (with whatever set-up it needs); must throw. */
  run(): unknown;
}

/** Runs `fn` with a fresh Vm of `options`, disposed afterwards. */
function withVm(options: ConstructorParameters<typeof Vm>[0], fn: (vm: Vm) => unknown) {
  return () => {
    using vm = new Vm({ ...quiet, ...options });
    return fn(vm);
  };
}

/** Runs `io_sizes.bin` with `write` as the write callback of a handler on port 0x500. */
const inHandler = (write: (vm: Vm) => void) =>
  withVm({}, (vm) => {
    vm.addPortHandler(0x500, 1, { write: () => write(vm) });
    vm.load(Deno.readFileSync(`${GUESTS}/io_sizes.bin`));
    return vm.run();
  });

const api = (group: string, rows: Omit<ApiBadInput, "group">[]) =>
  rows.map((row): ApiBadInput => ({ group, ...row }));

/** The rows, in table order. */
export const API_BAD_INPUTS: ApiBadInput[] = [
  ...api("new Vm()", [
    {
      name: "an unknown mode",
      call: 'new Vm({ mode: "smm" })',
      error: "ConfigError",
      message: 'mode: unknown CPU mode "smm" (use real, protected, paged, long)',
      run: () => new Vm({ mode: "smm" as CpuMode }),
    },
    {
      name: "too little memory",
      call: "new Vm({ memory: 4096 })",
      error: "ConfigError",
      message: "memory: 4096 bytes is too small (at least 64K)",
      run: () => new Vm({ memory: 4096 }),
    },
    {
      name: "too little memory as text",
      call: 'new Vm({ memory: "32K" })',
      error: "ConfigError",
      message: "memory: 32768 bytes is too small (at least 64K)",
      run: () => new Vm({ memory: "32K" }),
    },
    {
      name: "a fractional size",
      call: "new Vm({ memory: 1572864.5 })",
      error: "ConfigError",
      message: "memory: 1572864.5 is not a number of bytes (a whole number below 2^53)",
      run: () => new Vm({ memory: 1572864.5 }),
    },
    {
      name: "a size beyond exact numbers",
      call: "new Vm({ memory: 2 ** 60 })",
      error: "ConfigError",
      message: "memory: 1152921504606847000 is not a number of bytes (a whole number below 2^53)",
      run: () => new Vm({ memory: 2 ** 60 }),
    },
    {
      name: "a size that is not one",
      call: 'new Vm({ memory: "lots" })',
      error: "ConfigError",
      message: 'memory: "lots" is not a size (use e.g. 2M, 64M, 1G)',
      run: () => new Vm({ memory: "lots" }),
    },
    {
      name: "more memory than the host's address space",
      call: 'new Vm({ memory: "4000000G" })',
      error: "KvmError",
      message:
        "mmap of 4294967296000000 bytes of guest memory failed: ENOMEM (Cannot allocate memory)",
      run: () => new Vm({ memory: "4000000G" }),
    },
    {
      name: "more memory than KVM maps in one slot",
      call: 'new Vm({ memory: "20000G" })',
      error: "KvmError",
      message: "KVM_SET_USER_MEMORY_REGION failed: EINVAL (Invalid argument)",
      run: () => new Vm({ memory: "20000G" }),
    },
    {
      name: "a missing KVM device",
      call: 'new Vm({ kvmPath: "/nonexistent" })',
      error: "KvmError",
      message: "open /nonexistent failed: ENOENT (No such file or directory)",
      run: () => new Vm({ kvmPath: "/nonexistent" }),
    },
    {
      name: "a device that is not KVM",
      call: 'new Vm({ kvmPath: "/dev/null" })',
      error: "KvmError",
      message: "KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)",
      run: () => new Vm({ kvmPath: "/dev/null" }),
    },
    {
      name: "a directory as the KVM device",
      call: 'new Vm({ kvmPath: "/" })',
      error: "KvmError",
      message: "open / failed: EISDIR (Is a directory)",
      run: () => new Vm({ kvmPath: "/" }),
    },
    {
      name: "a device nobody may open for writing, root included",
      call: `new Vm({ kvmPath: "${READ_ONLY_SYSFS}" })`,
      error: "KvmError",
      message: `open ${READ_ONLY_SYSFS} failed: EACCES (Permission denied)`,
      run: () => new Vm({ kvmPath: READ_ONLY_SYSFS }),
    },
  ]),
  ...api("new LinuxVm()", [
    {
      name: "too little memory for Linux",
      call: 'new LinuxVm({ kernel, memory: "16M" })',
      error: "ConfigError",
      message: "Cannot boot Linux in 16777216 bytes of RAM: give it at least 32M",
      run: () => new LinuxVm({ kernel: HLT, memory: "16M" }),
    },
    {
      name: "a memory size that is not a number",
      call: "new LinuxVm({ kernel, memory: NaN })",
      error: "ConfigError",
      message: "memory: NaN is not a number of bytes (a whole number below 2^53)",
      run: () => new LinuxVm({ kernel: HLT, memory: NaN }),
    },
  ]),
  ...api("vm.load()", [
    {
      name: "an empty image",
      call: "vm.load(new Uint8Array(0))",
      error: "ConfigError",
      message: "Cannot load guest: the image is empty",
      run: withVm({}, (vm) => vm.load(new Uint8Array(0))),
    },
    {
      name: "an image past the end of RAM",
      call: 'vm.load(new Uint8Array(4), 0xfffe), memory "64K"',
      error: "ConfigError",
      message: "Cannot load guest: 4 bytes at 0xfffe do not fit in 65536 bytes of RAM",
      run: withVm({ memory: "64K" }, (vm) => vm.load(new Uint8Array(4), 0xfffe)),
    },
    {
      name: "an image overlapping the VMM area (protected mode)",
      call: "vm.load(new Uint8Array(0x20), 0x1efff0)",
      error: "ConfigError",
      message: "Cannot load guest: 0x1efff0-0x1f000f overlaps the VMM area 0x1f0000-0x1fffff " +
        "(GDT, page tables, stack); use a smaller image, a lower --load or more --mem",
      run: withVm({ mode: "protected" }, (vm) => vm.load(new Uint8Array(0x20), 0x1efff0)),
    },
    {
      name: "a real-mode entry above 1 MiB",
      call: "vm.load(image, 0x100000)",
      error: "ConfigError",
      message: "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode",
      run: withVm({}, (vm) => vm.load(HLT, 0x100000)),
    },
    {
      name: "long mode with more RAM than the page tables map",
      call: 'vm.load(image), mode "long", memory "14G"',
      error: "ConfigError",
      message: "Cannot map 15032385536 bytes of RAM in long mode: at most 13 GiB",
      run: withVm({ mode: "long", memory: "14G" }, (vm) => vm.load(HLT)),
    },
  ]),
  ...api("handlers", [
    {
      name: "an MMIO handler on guest RAM",
      call: "vm.addMmioHandler(0x1000, 16, {})",
      error: "ConfigError",
      message: "Cannot add MMIO handler at 0x1000: that is guest RAM",
      run: withVm({}, (vm) => vm.addMmioHandler(0x1000, 16, {})),
    },
    {
      name: "a port handler over COM1",
      call: "vm.addPortHandler(0x3f8, 1, {})",
      error: "Error",
      message:
        "Cannot insert port handler 0x3f8 at port 0x3f8-0x3f8: it overlaps COM1 at 0x3f8-0x3ff",
      run: withVm({}, (vm) => vm.addPortHandler(0x3f8, 1, {})),
    },
    {
      name: "a port handler over another",
      call: "vm.addPortHandler(0x4ff, 2, {}) after (0x500, 4)",
      error: "Error",
      message: "Cannot insert port handler 0x4ff at port 0x4ff-0x500: it overlaps port " +
        "handler 0x500 at 0x500-0x503",
      run: withVm({}, (vm) => {
        vm.addPortHandler(0x500, 4, {});
        vm.addPortHandler(0x4ff, 2, {});
      }),
    },
    {
      name: "an MMIO handler over another",
      call: "vm.addMmioHandler(0xd0000800, 8, {}) after (0xd0000000, 0x1000)",
      error: "Error",
      message: "Cannot insert MMIO handler 0xd0000800 at MMIO 0xd0000800-0xd0000807: it " +
        "overlaps MMIO handler 0xd0000000 at 0xd0000000-0xd0000fff",
      run: withVm({}, (vm) => {
        vm.addMmioHandler(0xd000_0000, 0x1000, {});
        vm.addMmioHandler(0xd000_0800, 8, {});
      }),
    },
    {
      name: "a port handler past the last port",
      call: "vm.addPortHandler(0xfffe, 4, {})",
      error: "ConfigError",
      message: "Cannot add port handler at 0xfffe+4: ports end at 0xffff",
      run: withVm({}, (vm) => vm.addPortHandler(0xfffe, 4, {})),
    },
    {
      name: "a handler that throws: its error comes out of run()",
      call: 'vm.run(), write: () => { throw new Error("handler failed") }',
      error: "Error",
      message: "handler failed",
      run: inHandler(() => {
        throw new Error("handler failed");
      }),
    },
  ]),
  ...api("running", [
    {
      name: "a timeout that is not a number",
      call: "vm.run({ timeout: NaN })",
      error: "ConfigError",
      message: "timeout: NaN is not a number of seconds (0 or more)",
      run: withVm({}, (vm) => vm.run({ timeout: NaN })),
    },
    {
      name: "a negative timeout",
      call: "vm.run({ timeout: -1 })",
      error: "ConfigError",
      message: "timeout: -1 is not a number of seconds (0 or more)",
      run: withVm({}, (vm) => vm.run({ timeout: -1 })),
    },
    {
      name: "a slice of no time",
      call: "vm.runAsync({ sliceMs: 0 })",
      error: "ConfigError",
      message: "sliceMs: 0 is not a number of milliseconds (more than 0)",
      run: withVm({}, (vm) => vm.runAsync({ sliceMs: 0 })),
    },
    {
      name: "a register that is not a bigint",
      call: "vm.setRegs({ ...vm.getRegs(), rip: 0x1000 })",
      error: "TypeError",
      message: "Cannot set registers: rip is the number 4096, not a bigint",
      run: withVm({}, (vm) => vm.setRegs({ ...vm.getRegs(), rip: 0x1000 as unknown as bigint })),
    },
    {
      name: "run() from inside a handler",
      call: "vm.run() in a handler",
      error: "Error",
      message: "Cannot run: the VM is already running",
      run: inHandler((vm) => vm.run()),
    },
    {
      name: "dispose from inside a handler",
      call: "vm[Symbol.dispose]() in a handler",
      error: "Error",
      message: "Cannot dispose the VM while it runs: abort() it first",
      run: inHandler((vm) => vm[Symbol.dispose]()),
    },
    {
      name: "run() after dispose",
      call: "vm.run() after vm[Symbol.dispose]()",
      error: "Error",
      message: "Cannot run: the VM was disposed",
      run: withVm({}, (vm) => {
        vm[Symbol.dispose]();
        vm.run();
      }),
    },
    {
      name: "registers after dispose",
      call: "vm.getRegs() after vm[Symbol.dispose]()",
      error: "Error",
      message: "Cannot read registers: the VM was disposed",
      run: withVm({}, (vm) => {
        vm[Symbol.dispose]();
        vm.getRegs();
      }),
    },
    {
      name: "32-bit paging on kvm-pvm, which refuses it",
      call: 'vm.run(), mode "paged"',
      error: "KvmUnsupportedError",
      message: "Cannot start guest in paged mode: this KVM dropped CR0.PG (kvm-pvm supports " +
        "paging only in long mode)",
      pvmOnly: true,
      run: withVm({ mode: "paged" }, (vm) => {
        vm.load(HLT);
        vm.run();
      }),
    },
  ]),
];
