/**
 * End-to-end check that /dev/kvm is hardware-style AMD SVM KVM (kvm_amd with nested paging):
 * runs a tiny real-mode guest that does port I/O, an MMIO write to unmapped memory and `hlt`.
 * Run it inside the nested host: `deno run --allow-all tests/host/nested.ts check`.
 * @module
 */

const KVM_GET_API_VERSION = 0xae00n;
const KVM_CREATE_VM = 0xae01n;
const KVM_GET_VCPU_MMAP_SIZE = 0xae04n;
const KVM_CREATE_VCPU = 0xae41n;
const KVM_SET_USER_MEMORY_REGION = 0x4020ae46n;
const KVM_SET_REGS = 0x4090ae82n;
const KVM_GET_SREGS = 0x8138ae83n;
const KVM_SET_SREGS = 0x4138ae84n;
const KVM_RUN = 0xae80n;
const KVM_EXIT_IO = 2;
const KVM_EXIT_HLT = 5;
const KVM_EXIT_MMIO = 6;

/** The guest: `mov dx,0x3f8; mov al,0x42; out dx,al; mov [0x8000],al; hlt`, loaded at 0x1000. */
export const GUEST_CODE: Uint8Array = new Uint8Array([
  0xba,
  0xf8,
  0x03, // mov dx, 0x3f8
  0xb0,
  0x42, // mov al, 0x42
  0xee, // out dx, al
  0xa2,
  0x00,
  0x80, // mov [0x8000], al  (unmapped: an MMIO exit through nested paging)
  0xf4, // hlt
]);

/** Reads a file as text, or "" if it does not exist (other errors, e.g. no permission, throw). */
function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw new Error(`kvm-probe: cannot read ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/** Checks that the running kernel's KVM is kvm_amd on an SVM CPU; returns facts or throws. */
export function checkSvmKvm(): string[] {
  const cpuinfo = readOr("/proc/cpuinfo");
  if (!/^vendor_id\s*:\s*AuthenticAMD/m.test(cpuinfo)) throw new Error("kvm-probe: CPU is not AMD");
  if (!/^flags\s*:.*\bsvm\b/m.test(cpuinfo)) throw new Error("kvm-probe: no svm CPU flag");
  if (readOr("/sys/module/kvm_amd/initstate") !== "live") {
    const others = ["kvm_pvm", "kvm_intel"].filter((m) => readOr(`/sys/module/${m}/initstate`));
    throw new Error(`kvm-probe: kvm_amd is not loaded (loaded: ${others.join(",") || "none"})`);
  }
  const npt = readOr("/sys/module/kvm_amd/parameters/npt");
  if (npt !== "Y" && npt !== "1") throw new Error(`kvm-probe: kvm_amd npt=${npt || "?"}`);
  return ["vendor=AuthenticAMD", "flag=svm", "module=kvm_amd", `npt=${npt}`];
}

/** Runs the tiny guest through /dev/kvm and returns what it saw, or throws. */
export function runTinyGuest(): string[] {
  const libc = Deno.dlopen("libc.so.6", {
    open: { parameters: ["buffer", "i32"], result: "i32" },
    ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
    ioctl_buf: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const s = libc.symbols;
  const ok = (r: number, what: string): number => {
    if (r < 0) throw new Error(`kvm-probe: ${what} failed`);
    return r;
  };
  const mmap = (len: number, fd: number): Deno.PointerObject => {
    // PROT_READ|PROT_WRITE, MAP_SHARED (fd) or MAP_PRIVATE|MAP_ANONYMOUS.
    const p = s.mmap(null, BigInt(len), 3, fd < 0 ? 0x22 : 0x01, fd, 0n);
    if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
      throw new Error("kvm-probe: mmap failed");
    }
    return p;
  };
  try {
    const kvm = ok(s.open(new TextEncoder().encode("/dev/kvm\0"), 0o2000002), "open /dev/kvm");
    const api = ok(s.ioctl(kvm, KVM_GET_API_VERSION, 0n), "KVM_GET_API_VERSION");
    if (api !== 12) throw new Error(`kvm-probe: KVM API version ${api}, expected 12`);
    const vm = ok(s.ioctl(kvm, KVM_CREATE_VM, 0n), "KVM_CREATE_VM");

    const memSize = 0x4000;
    const mem = mmap(memSize, -1);
    new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(mem, memSize)).set(GUEST_CODE, 0x1000);
    const region = new BigUint64Array([0n, 0n, BigInt(memSize), Deno.UnsafePointer.value(mem)]);
    ok(s.ioctl_buf(vm, KVM_SET_USER_MEMORY_REGION, region), "KVM_SET_USER_MEMORY_REGION");

    const vcpu = ok(s.ioctl(vm, KVM_CREATE_VCPU, 0n), "KVM_CREATE_VCPU");
    const runSize = ok(s.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0n), "KVM_GET_VCPU_MMAP_SIZE");
    const run = new DataView(Deno.UnsafePointerView.getArrayBuffer(mmap(runSize, vcpu), runSize));

    const sregs = new Uint8Array(312);
    ok(s.ioctl_buf(vcpu, KVM_GET_SREGS, sregs), "KVM_GET_SREGS");
    const sv = new DataView(sregs.buffer);
    sv.setBigUint64(0, 0n, true); // cs.base
    sv.setUint16(12, 0, true); // cs.selector
    ok(s.ioctl_buf(vcpu, KVM_SET_SREGS, sregs), "KVM_SET_SREGS");
    const regs = new BigUint64Array(18);
    regs[16] = 0x1000n; // rip
    regs[17] = 0x2n; // rflags
    ok(s.ioctl_buf(vcpu, KVM_SET_REGS, regs), "KVM_SET_REGS");

    const exits: string[] = [];
    for (let i = 0; i < 8; i++) {
      ok(s.ioctl(vcpu, KVM_RUN, 0n), "KVM_RUN");
      const reason = run.getUint32(8, true);
      if (reason === KVM_EXIT_IO) {
        const port = run.getUint16(34, true);
        const data = run.getUint8(Number(run.getBigUint64(40, true)));
        exits.push(`io(out,0x${port.toString(16)},0x${data.toString(16)})`);
      } else if (reason === KVM_EXIT_MMIO) {
        const addr = run.getBigUint64(32, true);
        const write = run.getUint8(52) === 1 ? "write" : "read";
        exits.push(`mmio(${write},0x${addr.toString(16)},0x${run.getUint8(40).toString(16)})`);
      } else if (reason === KVM_EXIT_HLT) {
        exits.push("hlt");
        break;
      } else {
        throw new Error(`kvm-probe: unexpected exit reason ${reason} after ${exits.join(" ")}`);
      }
    }
    const want = "io(out,0x3f8,0x42) mmio(write,0x8000,0x42) hlt";
    if (exits.join(" ") !== want) {
      throw new Error(`kvm-probe: guest exits "${exits.join(" ")}", expected "${want}"`);
    }
    for (const fd of [vcpu, vm, kvm]) s.close(fd);
    return [`api=${api}`, `exits=${exits.join(",")}`];
  } finally {
    libc.close();
  }
}

if (import.meta.main) {
  try {
    const facts = [...checkSvmKvm(), ...runTinyGuest()];
    console.log(`kvm-probe: ok ${facts.join(" ")}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
