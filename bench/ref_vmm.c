/*
 * ref_vmm.c - the C reference VMM that bench/run.ts measures microvmm against.
 *
 * It does what microvmm does for a flat guest, in plain C, with the seed's KVM_RUN loop:
 *   ref_vmm exits GUEST            long mode (GDT + identity page tables at the top of 2 MiB of
 *                                  RAM, entry 0x1000, as lib/arch/x86_64/modes.ts); times the
 *                                  KVM_RUN loop until the exit port; prints "exits N ns T".
 *   ref_vmm latency GUEST N W      real mode; N + W times (the first W not reported): open
 *                                  /dev/kvm -> CREATE_VM -> RAM -> VCPU -> mmap kvm_run ->
 *                                  sregs/regs -> KVM_RUN until HLT -> close; prints "ns T" each.
 *   ref_vmm hello GUEST            the seed program: 4 KiB of RAM at 0x1000, real mode, port
 *                                  writes printed, stops at HLT (without the seed's final line
 *                                  "KVM_EXIT_HLT", so its stdout is microvmm's: "Hello\n").
 * Ports as microvmm: 0xf1/0xe9 print, 0x80 POST (recorded), 0xf4 exit with the value written.
 * Errors go through err(3) naming the ioctl. Build: gcc -O2 -o ref_vmm ref_vmm.c
 */
#include <err.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)           /* DEFAULT_MEM_SIZE */
#define LOAD_ADDR 0x1000u             /* DEFAULT_LOAD_ADDRESS */
#define VMM_AREA (MEM_SIZE - 0x10000) /* GDT, page tables; the stack grows down from here */
#define PAGE_TABLES (VMM_AREA + 0x1000)
#define PTE_P 1ull     /* SDM Vol. 3A §4.5: present, writable, 2 MiB page (PS) */
#define PTE_W 2ull
#define PTE_PS 0x80ull
#define CR0_PE 1ull    /* SDM Vol. 3A §2.5 */
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
enum { PORT_POST = 0x80, PORT_DEBUGCON = 0xe9, PORT_SEED_CONSOLE = 0xf1, PORT_EXIT = 0xf4 };

struct vm {
	int kvm, vmfd, vcpufd;
	uint8_t *mem;
	size_t mem_size, run_size;
	struct kvm_run *run;
};

/* ioctl(2) that exits through err(3) naming the ioctl on failure; returns its result. */
#define IOCTL(fd, request, arg) xioctl(fd, request, (unsigned long)(arg), #request)
static inline int xioctl(int fd, unsigned long request, unsigned long arg, const char *name)
{
	int ret = ioctl(fd, request, arg);
	if (ret == -1)
		err(1, "%s", name);
	return ret;
}

static uint8_t guest[MEM_SIZE];
static size_t guest_len;
static int post_code = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void read_guest(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		err(1, "%s", path);
	guest_len = fread(guest, 1, sizeof(guest), f);
	if (ferror(f) || guest_len == 0)
		errx(1, "%s: cannot read the guest (empty or unreadable)", path);
	fclose(f);
}

/* open /dev/kvm, CREATE_VM, `size` bytes of RAM at guest-physical `base`, VCPU 0, mmap kvm_run. */
static void vm_create(struct vm *vm, uint64_t base, size_t size)
{
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm == -1)
		err(1, "/dev/kvm");
	int ret = IOCTL(vm->kvm, KVM_GET_API_VERSION, 0);
	if (ret != 12)
		errx(1, "KVM_GET_API_VERSION %d, expected 12", ret);
	vm->vmfd = IOCTL(vm->kvm, KVM_CREATE_VM, 0);
	vm->mem_size = size;
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		err(1, "mmap of guest memory");
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = base,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
	};
	IOCTL(vm->vmfd, KVM_SET_USER_MEMORY_REGION, &region);
	vm->vcpufd = IOCTL(vm->vmfd, KVM_CREATE_VCPU, 0);
	ret = IOCTL(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((size_t)ret < sizeof(*vm->run))
		errx(1, "KVM_GET_VCPU_MMAP_SIZE unexpectedly small");
	vm->run_size = (size_t)ret;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpufd, 0);
	if (vm->run == MAP_FAILED)
		err(1, "mmap of kvm_run");
}

static void vm_destroy(struct vm *vm)
{
	munmap(vm->run, vm->run_size);
	close(vm->vcpufd);
	close(vm->vmfd);
	munmap(vm->mem, vm->mem_size);
	close(vm->kvm);
}

/* The flat segments of lib/arch/x86_64/gdt.ts: selector 0x08 code, 0x10 data. */
static struct kvm_segment flat_segment(int code, int code64)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = code ? 0x08 : 0x10,
		.type = code ? 0xb : 0x3, .present = 1, .dpl = 0, .db = code64 ? 0 : 1,
		.s = 1, .l = code64 ? 1 : 0, .g = 1,
	};
	return s;
}

static uint64_t gdt_entry(struct kvm_segment s)
{
	uint64_t limit = (s.g ? s.limit >> 12 : s.limit) & 0xfffff;
	uint64_t base = s.base & 0xffffffff;
	uint64_t access = s.type | (s.s << 4) | (s.dpl << 5) | (s.present << 7);
	uint64_t flags = s.avl | (s.l << 1) | (s.db << 2) | (s.g << 3);
	return (limit & 0xffff) | ((base & 0xffffff) << 16) | (access << 40) |
	       ((limit >> 16) << 48) | (flags << 52) | ((base >> 24) << 56);
}

/* Sets the vCPU up like modes.ts setupMode(): real mode (seed style) or long mode. */
static void vcpu_setup(struct vm *vm, int long_mode, uint64_t entry)
{
	struct kvm_sregs sregs;
	IOCTL(vm->vcpufd, KVM_GET_SREGS, &sregs);
	struct kvm_regs regs = { .rip = entry, .rflags = 2 };
	if (!long_mode) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
	} else {
		struct kvm_segment code = flat_segment(1, 1), data = flat_segment(0, 0);
		uint64_t *gdt = (uint64_t *)(vm->mem + VMM_AREA);
		gdt[0] = 0;
		gdt[1] = gdt_entry(code);
		gdt[2] = gdt_entry(data);
		sregs.gdt.base = VMM_AREA;
		sregs.gdt.limit = 3 * 8 - 1;
		sregs.idt.base = 0;
		sregs.idt.limit = 0;
		sregs.cs = code;
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
		/* PML4, PDPT, then one page directory per GiB for 4 GiB, 2 MiB pages (paging.ts). */
		uint64_t *pml4 = (uint64_t *)(vm->mem + PAGE_TABLES);
		uint64_t *pdpt = pml4 + 512;
		memset(pml4, 0, 6 * 4096);
		pml4[0] = (PAGE_TABLES + 0x1000) | PTE_P | PTE_W;
		for (uint64_t g = 0; g < 4; g++) {
			uint64_t *pd = pml4 + 512 * (2 + g);
			pdpt[g] = (PAGE_TABLES + (2 + g) * 0x1000) | PTE_P | PTE_W;
			for (uint64_t e = 0; e < 512; e++)
				pd[e] = ((g << 30) + (e << 21)) | PTE_P | PTE_W | PTE_PS;
		}
		sregs.cr3 = PAGE_TABLES;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
		regs.rsp = VMM_AREA;
	}
	IOCTL(vm->vcpufd, KVM_SET_SREGS, &sregs);
	IOCTL(vm->vcpufd, KVM_SET_REGS, &regs);
}

/* The seed's loop: KVM_RUN, switch on the exit reason. Returns the exit status; counts exits. */
static int run_loop(struct vm *vm, uint64_t *exits)
{
	struct kvm_run *run = vm->run;
	uint64_t n = 0;
	for (;;) {
		IOCTL(vm->vcpufd, KVM_RUN, 0);
		n++;
		switch (run->exit_reason) {
		case KVM_EXIT_HLT:
			*exits = n;
			return 0;
		case KVM_EXIT_IO: {
			if (run->io.direction != KVM_EXIT_IO_OUT)
				break;
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
				if (run->io.port == PORT_EXIT) {
					*exits = n;
					return data[0];
				} else if (run->io.port == PORT_POST) {
					post_code = data[0];
				} else if (run->io.port == PORT_SEED_CONSOLE ||
					   run->io.port == PORT_DEBUGCON) {
					putchar(data[0]);
				}
			}
			break;
		}
		case KVM_EXIT_FAIL_ENTRY:
			errx(1, "KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason = 0x%llx",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			errx(1, "KVM_EXIT_INTERNAL_ERROR: suberror = 0x%x", run->internal.suberror);
		default:
			errx(1, "exit_reason = 0x%x", run->exit_reason);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s exits GUEST | latency GUEST N WARMUP | hello GUEST\n",
			argv[0]);
		return 2;
	}
	read_guest(argv[2]);
	struct vm vm;
	uint64_t exits = 0;
	if (strcmp(argv[1], "exits") == 0) {
		vm_create(&vm, 0, MEM_SIZE);
		memcpy(vm.mem + LOAD_ADDR, guest, guest_len);
		vcpu_setup(&vm, 1, LOAD_ADDR);
		uint64_t start = now_ns();
		int status = run_loop(&vm, &exits);
		uint64_t ns = now_ns() - start;
		vm_destroy(&vm);
		printf("exits %llu ns %llu status %d\n", (unsigned long long)exits,
		       (unsigned long long)ns, status);
		return 0;
	}
	if (strcmp(argv[1], "latency") == 0 && argc == 5) {
		int n = atoi(argv[3]), warmup = atoi(argv[4]);
		for (int i = 0; i < warmup + n; i++) {
			uint64_t start = now_ns();
			vm_create(&vm, 0, MEM_SIZE);
			memcpy(vm.mem + LOAD_ADDR, guest, guest_len);
			vcpu_setup(&vm, 0, LOAD_ADDR);
			run_loop(&vm, &exits);
			vm_destroy(&vm);
			uint64_t ns = now_ns() - start;
			if (i >= warmup)
				printf("ns %llu\n", (unsigned long long)ns);
		}
		return 0;
	}
	if (strcmp(argv[1], "hello") == 0) {
		if (guest_len > 0x1000)
			errx(1, "%s: %zu bytes do not fit in the seed's 4 KiB", argv[2], guest_len);
		vm_create(&vm, LOAD_ADDR, 0x1000);
		memcpy(vm.mem, guest, guest_len);
		vcpu_setup(&vm, 0, LOAD_ADDR);
		int status = run_loop(&vm, &exits);
		fflush(stdout);
		return status;
	}
	errx(2, "unknown command %s (use exits, latency or hello)", argv[1]);
}
