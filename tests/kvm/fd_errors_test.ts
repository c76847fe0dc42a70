/**
 * Error paths of the KVM fd wrappers that need no /dev/kvm: bad and closed fds, a missing or
 * wrong device, use after dispose, and double dispose.
 *
 * @module
 */

import assert from "node:assert/strict";
import { OwnedFd } from "../../lib/kvm/_fd.ts";
import { KvmError } from "../../lib/kvm/error.ts";
import { cString, libc, O_CLOEXEC, O_RDWR } from "../../lib/kvm/ffi.ts";
import { Kvm } from "../../lib/kvm/kvm.ts";
import { VcpuFd } from "../../lib/kvm/vcpu_fd.ts";
import { VmFd } from "../../lib/kvm/vm_fd.ts";

/** An fd number no process can have open (above the kernel's fs.nr_open ceiling). */
const NEVER_OPEN_FD = 0x7fff_ffff;

/** Opens /dev/null read-write: a real fd on which every KVM ioctl fails. */
function openDevNull(): number {
  const fd = libc().open(cString("/dev/null"), O_RDWR | O_CLOEXEC);
  assert.ok(fd >= 0, "open /dev/null");
  return fd;
}

/** Whether `fd` is open on /dev/null in this process. */
function isOpenOnDevNull(fd: number): boolean {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`) === "/dev/null";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The fds of this process open on /dev/null, ascending. */
function devNullFds(): number[] {
  return [...Deno.readDirSync("/proc/self/fd")]
    .map((entry) => Number(entry.name))
    .filter(isOpenOnDevNull)
    .sort((a, b) => a - b);
}

/** A Kvm around `fd` without Kvm.open's API version check (its constructor is private). */
function kvmAround(fd: number): Kvm {
  const Constructor = Kvm as unknown as new (fd: number) => Kvm;
  return new Constructor(fd);
}

/** Asserts `fn` throws a KvmError for `call` with `errno`, and its exact message. */
function assertKvmError(fn: () => unknown, call: string, errno: number, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof KvmError, `expected a KvmError, got ${error}`);
    assert.equal(error.name, "KvmError");
    assert.equal(error.call, call);
    assert.equal(error.errno, errno);
    assert.equal(error.message, message);
    return true;
  });
}

const EBADF = 9;
const EBADF_TEXT = "EBADF (Bad file descriptor)";

Deno.test("an ioctl on a bad fd is a KvmError naming the ioctl and EBADF", async (t) => {
  await t.step("fd -1", () => {
    using vm = new VmFd(-1, 4096);
    assertKvmError(
      () => vm.createVcpu(0),
      "KVM_CREATE_VCPU",
      EBADF,
      `KVM_CREATE_VCPU failed: ${EBADF_TEXT}`,
    );
  });

  await t.step("an fd that was never open", () => {
    using vm = new VmFd(NEVER_OPEN_FD, 4096);
    assertKvmError(
      () => vm.setTssAddr(0xfffb_d000n),
      "KVM_SET_TSS_ADDR",
      EBADF,
      `KVM_SET_TSS_ADDR failed: ${EBADF_TEXT}`,
    );
  });

  await t.step("an fd closed behind the wrapper's back (buffer ioctl)", () => {
    const fd = openDevNull();
    using vm = new VmFd(fd, 4096);
    libc().close(fd);
    assertKvmError(
      () =>
        vm.setUserMemoryRegion({
          slot: 0,
          guestPhysAddr: 0n,
          memorySize: 0x1000n,
          userspaceAddr: 0x7000_0000_0000n,
        }),
      "KVM_SET_USER_MEMORY_REGION",
      EBADF,
      `KVM_SET_USER_MEMORY_REGION failed: ${EBADF_TEXT}`,
    );
  });

  await t.step("Kvm ioctls on fd -1", () => {
    using kvm = kvmAround(-1);
    assertKvmError(
      () => kvm.getApiVersion(),
      "KVM_GET_API_VERSION",
      EBADF,
      `KVM_GET_API_VERSION failed: ${EBADF_TEXT}`,
    );
    assertKvmError(
      () => kvm.checkExtension("KVM_CAP_USER_MEMORY"),
      "KVM_CHECK_EXTENSION",
      EBADF,
      `KVM_CHECK_EXTENSION failed: ${EBADF_TEXT}`,
    );
    assertKvmError(
      () => kvm.getVcpuMmapSize(),
      "KVM_GET_VCPU_MMAP_SIZE",
      EBADF,
      `KVM_GET_VCPU_MMAP_SIZE failed: ${EBADF_TEXT}`,
    );
  });
});

Deno.test("Kvm.open of a path that is not KVM", async (t) => {
  await t.step("a missing path: open fails with ENOENT", () => {
    assertKvmError(
      () => Kvm.open("/nonexistent"),
      "open /nonexistent",
      2,
      "open /nonexistent failed: ENOENT (No such file or directory)",
    );
  });

  await t.step("a device that is not KVM: KVM_GET_API_VERSION fails, the fd is closed", () => {
    const before = devNullFds();
    assertKvmError(
      () => Kvm.open("/dev/null"),
      "KVM_GET_API_VERSION",
      25,
      "KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)",
    );
    assert.deepEqual(devNullFds(), before, "Kvm.open leaked its fd");
  });
});

Deno.test("a disposed wrapper throws a clear error, and dispose twice is safe", async (t) => {
  await t.step("Kvm", () => {
    const fd = openDevNull();
    const kvm = kvmAround(fd);
    assert.equal(kvm.fd, fd);
    kvm[Symbol.dispose]();
    assert.equal(isOpenOnDevNull(fd), false, "dispose closes the fd");
    kvm[Symbol.dispose]();
    const disposed = { message: "Cannot use /dev/kvm: it was disposed" };
    assert.throws(() => kvm.fd, disposed);
    assert.throws(() => kvm.getApiVersion(), disposed);
    assert.throws(() => kvm.checkExtension("KVM_CAP_IMMEDIATE_EXIT"), disposed);
    assert.throws(() => kvm.getVcpuMmapSize(), disposed);
    assert.throws(() => kvm.createVm(), disposed);
  });

  await t.step("VmFd", () => {
    const fd = openDevNull();
    const vm = new VmFd(fd, 4096);
    vm[Symbol.dispose]();
    assert.equal(isOpenOnDevNull(fd), false, "dispose closes the fd");
    vm[Symbol.dispose]();
    const disposed = { message: "Cannot use VM: it was disposed" };
    assert.throws(() => vm.fd, disposed);
    assert.throws(() => vm.createVcpu(0), disposed);
    assert.throws(() => vm.setTssAddr(0n), disposed);
    assert.throws(
      () =>
        vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0n, memorySize: 0n, userspaceAddr: 0n }),
      disposed,
    );
  });

  await t.step("a wrapper of fd -1: dispose is a no-op, then use throws", () => {
    const vm = new VmFd(-1, 4096);
    vm[Symbol.dispose]();
    vm[Symbol.dispose]();
    assert.throws(() => vm.createVcpu(0), { message: "Cannot use VM: it was disposed" });
  });
});

Deno.test("VcpuFd whose kvm_run cannot be mapped: a KvmError, and the fd is closed", async (t) => {
  await t.step("a /dev/null fd: mmap fails with ENODEV", () => {
    const fd = openDevNull();
    assertKvmError(
      () => new VcpuFd(fd, 0, 4096),
      "mmap of vCPU 0 kvm_run",
      19,
      "mmap of vCPU 0 kvm_run failed: ENODEV (No such device)",
    );
    assert.equal(isOpenOnDevNull(fd), false, "the vCPU fd leaked");
  });

  await t.step("fd -1: mmap fails with EBADF", () => {
    assertKvmError(
      () => new VcpuFd(-1, 3, 4096),
      "mmap of vCPU 3 kvm_run",
      EBADF,
      `mmap of vCPU 3 kvm_run failed: ${EBADF_TEXT}`,
    );
  });
});

Deno.test("KvmError describes errnos it has no name for", () => {
  const cause = new Error("root cause");
  const error = new KvmError("KVM_RUN", 200, { cause });
  assert.equal(error.message, "KVM_RUN failed: errno 200 (Unknown error 200)");
  assert.equal(error.cause, cause);
  assert.ok(error instanceof Error);
});

Deno.test("an ioctl that a signal interrupts (EINTR) is tried again; 100 EINTRs in a row are reported", () => {
  const symbols = libc() as unknown as { ioctl: (...args: unknown[]) => number };
  const real = symbols.ioctl;
  const errnoCell = new Int32Array(
    Deno.UnsafePointerView.getArrayBuffer(libc().__errno_location()!, 4),
  );
  let calls = 0;
  let interruptions = 0;
  symbols.ioctl = (...args: unknown[]) => {
    calls++;
    if (interruptions > 0) {
      interruptions--;
      errnoCell[0] = 4; // EINTR
      return -1;
    }
    return real(...args);
  };
  const fd = new OwnedFd(openDevNull(), "test fd");
  try {
    // Three interruptions, then /dev/null's own answer: the real error, not EINTR.
    interruptions = 3;
    assert.throws(() => fd.ioctl("KVM_GET_API_VERSION"), {
      message: "KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)",
    });
    assert.equal(calls, 4);
    calls = 0;
    interruptions = Infinity;
    assert.throws(() => fd.ioctl("KVM_GET_API_VERSION"), {
      message: "KVM_GET_API_VERSION failed: EINTR (Interrupted system call)",
    });
    assert.equal(calls, 100);
  } finally {
    symbols.ioctl = real;
    fd.close();
  }
});
