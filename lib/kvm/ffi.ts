/**
 * Every libc symbol microvmm calls, bound with `Deno.dlopen` in groups on first use, and errno
 * helpers.
 *
 * @module
 */

/**
 * The calls every VM makes (open the device, ioctls, map memory) and errno, which must be read
 * right after a failed call and so is bound with them. Each entry has its C prototype.
 */
export const CORE_SYMBOLS = {
  /** int open(const char *path, int flags); */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int ioctl(int fd, unsigned long request, unsigned long arg); */
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  /** int ioctl(int fd, unsigned long request, void *arg); */
  ioctl_buf: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off); */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** int munmap(void *addr, size_t len); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** int madvise(void *addr, size_t len, int advice); */
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Error messages: bound only when an error is described (errno is read before that). */
export const ERROR_SYMBOLS = {
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The vCPU kicker's thread-directed POSIX timer and signal (lib/vmm/kicker.ts); the process id
 * comes from `Deno.pid`.
 */
export const TIMER_SYMBOLS = {
  /** pid_t gettid(void); */
  gettid: { parameters: [], result: "i32" },
  /** int tgkill(pid_t tgid, pid_t tid, int sig); */
  tgkill: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int timer_create(clockid_t clock, struct sigevent *sev, timer_t *timerid); */
  timer_create: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int timer_settime(timer_t t, int flags, const struct itimerspec *new, struct itimerspec *old); */
  timer_settime: { parameters: ["pointer", "i32", "buffer", "pointer"], result: "i32" },
  /** int timer_delete(timer_t t); */
  timer_delete: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Non-blocking reads of the host's stdin for COM1 and its input wake-up (lib/cli/). */
export const STDIN_SYMBOLS = {
  /** int poll(struct pollfd *fds, nfds_t n, int timeout); */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** ssize_t read(int fd, void *buf, size_t n); */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int fcntl(int fd, int cmd, long arg); (F_GETFL, F_SETFL, F_SETSIG, F_SETOWN) */
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  /** int fcntl(int fd, int cmd, struct f_owner_ex *owner); (F_SETOWN_EX) */
  fcntl_buf: { name: "fcntl", parameters: ["i32", "i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Every libc symbol microvmm binds: the groups together. */
export const LIBC_SYMBOLS = {
  ...CORE_SYMBOLS,
  ...TIMER_SYMBOLS,
  ...STDIN_SYMBOLS,
  ...ERROR_SYMBOLS,
} as const satisfies Deno.ForeignLibraryInterface;

/** The C library every group is bound from (glibc's soname). */
const LIBC_PATH = "libc.so.6";

/** The bound functions of a symbol table. */
type Bound<T extends Deno.ForeignLibraryInterface> = Deno.DynamicLibrary<T>["symbols"];

let symbols: Bound<typeof LIBC_SYMBOLS> | undefined;

/**
 * The libc symbols. Binding costs ~0.1 ms a symbol at start-up (~15 ms under an emulated CPU, the
 * nested test host), so the groups are bound apart (one `Deno.dlopen` each): the core group on the
 * first call, the others the first time one of their symbols is looked up, so a run that never
 * arms the kicker, reads stdin or meets an error binds only the core. The returned object is the
 * same every time; the core entries are plain properties (KVM_RUN goes through one per exit).
 */
export function libc(): Bound<typeof LIBC_SYMBOLS> {
  if (symbols) return symbols;
  const all: Record<string, unknown> = { ...Deno.dlopen(LIBC_PATH, CORE_SYMBOLS).symbols };
  const lazy = [TIMER_SYMBOLS, STDIN_SYMBOLS, ERROR_SYMBOLS] as Deno.ForeignLibraryInterface[];
  for (const group of lazy) {
    let bound: Record<string, unknown> | undefined;
    for (const name of Object.keys(group)) {
      Object.defineProperty(all, name, {
        enumerable: true,
        get: () => (bound ??= Deno.dlopen(LIBC_PATH, group).symbols)[name],
      });
    }
  }
  symbols = all as Bound<typeof LIBC_SYMBOLS>;
  return symbols;
}

/**
 * Binds every group at once, in one `Deno.dlopen`, unless {@link libc} has bound the core already.
 * For a run that uses them all (a Linux boot arms the kicker; its CLI reads stdin) one dlopen costs
 * less than three: each has its own overhead besides the symbols (inside the nested test host,
 * under its emulated CPU: ~0.3 s for the three groups apart, ~0.2 s for all of them in one).
 */
export function bindAllLibc(): void {
  symbols ??= Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS).symbols;
}

/** open(2) flags and mmap(2) constants used by microvmm (x86-64 Linux values). */
export const O_RDWR = 2;
/** Close the fd on exec. */
export const O_CLOEXEC = 0o2000000;
/** mmap protection: readable. */
export const PROT_READ = 1;
/** mmap protection: writable. */
export const PROT_WRITE = 2;
/** mmap flag: shared mapping. */
export const MAP_SHARED = 1;
/** mmap flag: private mapping. */
export const MAP_PRIVATE = 2;
/** mmap flag: not backed by a file. */
export const MAP_ANONYMOUS = 0x20;
/** mmap flag: do not reserve swap space. */
export const MAP_NORESERVE = 0x4000;
/** madvise advice: back the range with transparent huge pages, compacting memory if needed. */
export const MADV_HUGEPAGE = 14;

/**
 * Detaches `buffer`, a view of memory about to be unmapped: every typed array and DataView over
 * it then has length 0 (reads give undefined, DataView access throws) instead of crashing the
 * process with SIGSEGV. `transfer(0)` hands the memory to a new empty buffer: no copy.
 */
export function detachMapping(buffer: ArrayBuffer): void {
  buffer.transfer(0);
}

/** errno names by number, for messages like "EACCES (Permission denied)". */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
};

/** errno value for an interrupted system call. */
export const EINTR = 4;

/** errno value for "no such file or directory". */
export const ENOENT = 2;

/** Reads the calling thread's errno. */
export function errno(): number {
  const location = libc().__errno_location();
  return new Deno.UnsafePointerView(location!).getInt32();
}

/** Describes an errno value as `NAME (message)`, e.g. `EACCES (Permission denied)`. */
export function describeErrno(code: number): string {
  const text = Deno.UnsafePointerView.getCString(libc().strerror(code)!);
  const name = ERRNO_NAMES[code] ?? `errno ${code}`;
  return `${name} (${text})`;
}

/** Encodes a string as a NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
