/**
 * Injected KVM failures — a closed vCPU fd, bad memory slots, guest RAM the host cannot map, a
 * device nobody may open, a disposed vCPU — each end in one clear line naming the call.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KvmError, Vm } from "../../mod.ts";
import { EXIT_REASONS, KVM_RUN } from "../../lib/kvm/abi.ts";
import { libc, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE } from "../../lib/kvm/ffi.ts";
import { Kvm } from "../../lib/kvm/kvm.ts";
import { isPvmHost } from "../cli/_run.ts";
import { READ_ONLY_SYSFS } from "../cli/_bad_inputs.ts";

const EBADF = "EBADF (Bad file descriptor)";

/** Asserts `fn` throws a KvmError for `call` with exactly `message`, on one line. */
function assertKvmError(fn: () => unknown, call: string, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof KvmError, `a KvmError, not ${error}`);
    assert.equal(error.call, call);
    assert.equal(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

/** The fd numbers of this process's vCPUs (links to anon_inode:kvm-vcpu:N). */
function vcpuFds(): number[] {
  return [...Deno.readDirSync("/proc/self/fd")]
    .filter((entry) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${entry.name}`).startsWith("anon_inode:kvm-vcpu");
      } catch {
        return false;
      }
    })
    .map((entry) => Number(entry.name));
}

Deno.test("a vCPU fd closed behind microvmm's back: every ioctl names itself and EBADF", async (t) => {
  await t.step("VcpuFd: KVM_RUN, KVM_GET_REGS, KVM_SET_SREGS", () => {
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    using vcpu = vm.createVcpu(0);
    const sregs = vcpu.getSregs();
    libc().close(vcpu.fd); // (dispose closes the number again: nothing opens one in between)
    assertKvmError(() => vcpu.run(), "KVM_RUN", `KVM_RUN failed: ${EBADF}`);
    assertKvmError(() => vcpu.getRegs(), "KVM_GET_REGS", `KVM_GET_REGS failed: ${EBADF}`);
    assertKvmError(() => vcpu.setSregs(sregs), "KVM_SET_SREGS", `KVM_SET_SREGS failed: ${EBADF}`);
  });

  await t.step("Vm.run(): the first ioctl of the run, and dispose still works", () => {
    const earlier = vcpuFds();
    const vm = new Vm({ output: () => {} });
    vm.load(Uint8Array.of(0xf4));
    const [fd] = vcpuFds().filter((n) => !earlier.includes(n));
    libc().close(fd);
    assertKvmError(() => vm.run(), "KVM_GET_SREGS", `KVM_GET_SREGS failed: ${EBADF}`);
    vm[Symbol.dispose]();
    assert.throws(() => vm.run(), { message: "Cannot run: the VM was disposed" });
  });
});

Deno.test("KVM_SET_USER_MEMORY_REGION checks the address range, KVM_RUN the mapping", async (t) => {
  using kvm = Kvm.open();
  using vm = kvm.createVm();
  const size = 0x200000;
  // Address space reserved with no access at all (PROT_NONE), so nothing else lands there.
  const pointer = libc().mmap(
    null,
    BigInt(size),
    0,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    -1,
    0n,
  );
  const reserved = Deno.UnsafePointer.value(pointer);
  assert.notEqual(reserved, 0xffff_ffff_ffff_ffffn, "mmap of the reservation");
  try {
    const region = (userspaceAddr: bigint) => ({
      slot: 0,
      guestPhysAddr: 0n,
      memorySize: BigInt(size),
      userspaceAddr,
    });
    const EINVAL = "KVM_SET_USER_MEMORY_REGION failed: EINVAL (Invalid argument)";
    await t.step("a kernel address: EINVAL", () => {
      assertKvmError(
        () => vm.setUserMemoryRegion(region(0xffff_8000_0000_0000n)),
        "KVM_SET_USER_MEMORY_REGION",
        EINVAL,
      );
    });
    await t.step("an address that is not page aligned: EINVAL", () => {
      assertKvmError(
        () => vm.setUserMemoryRegion(region(reserved + 1n)),
        "KVM_SET_USER_MEMORY_REGION",
        EINVAL,
      );
    });
    await t.step("memory the process cannot access: accepted, then KVM_RUN cannot fetch", () => {
      vm.setUserMemoryRegion(region(reserved));
      using vcpu = vm.createVcpu(0);
      const sregs = vcpu.getSregs();
      sregs.cs = { ...sregs.cs, base: 0n, selector: 0 };
      vcpu.setSregs(sregs);
      vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rflags: 2n });
      if (isPvmHost()) {
        // kvm-pvm emulates real mode: the emulator's fetch fails, an internal error exit.
        assert.equal(vcpu.run(), EXIT_REASONS.KVM_EXIT_INTERNAL_ERROR);
        assert.equal(vcpu.runView.getUint32(KVM_RUN.internal_suberror, true), 1, "EMULATION");
      } else {
        assertKvmError(() => vcpu.run(), "KVM_RUN", "KVM_RUN failed: EFAULT (Bad address)");
      }
    });
  } finally {
    libc().munmap(pointer, BigInt(size));
  }
});

Deno.test("guest RAM larger than the host's address space: mmap fails with ENOMEM, named", () => {
  assertKvmError(
    () => new Vm({ memory: "4000000G" }),
    "mmap of 4294967296000000 bytes of guest memory",
    "mmap of 4294967296000000 bytes of guest memory failed: ENOMEM (Cannot allocate memory)",
  );
});

Deno.test("a KVM device path that cannot be opened for writing, even by root: EACCES", () => {
  assertKvmError(
    () => new Vm({ kvmPath: READ_ONLY_SYSFS }),
    `open ${READ_ONLY_SYSFS}`,
    `open ${READ_ONLY_SYSFS} failed: EACCES (Permission denied)`,
  );
});

Deno.test("a disposed vCPU refuses KVM_RUN and its kvm_run with an error, not a crash", () => {
  using kvm = Kvm.open();
  using vm = kvm.createVm();
  const vcpu = vm.createVcpu(0);
  const [runView, runBytes] = [vcpu.runView, vcpu.runBytes];
  vcpu[Symbol.dispose]();
  vcpu[Symbol.dispose]();
  // Views taken before are detached (reading unmapped kvm_run would be SIGSEGV).
  assert.equal(runBytes.length, 0);
  assert.equal(runBytes[8], undefined);
  assert.throws(() => runView.getUint32(8, true), TypeError);
  assert.throws(() => vcpu.run(), { name: "Error", message: "Cannot run vCPU 0: it was disposed" });
  const disposed = { name: "Error", message: "Cannot use vCPU 0: it was disposed" };
  assert.throws(() => vcpu.getRegs(), disposed);
  assert.throws(() => vcpu.setImmediateExit(true), disposed);
  assert.throws(() => vcpu.runView, disposed);
  assert.throws(() => vcpu.runBytes, disposed);
});
