/*
 * wipe_vmm.S - a guest that destroys the GDT and page tables the VMM set up for it.
 *
 * Mode: long (.code64; run with --mode long --mem 2M, so the VMM area is 0x1f0000-0x1fffff:
 *   the GDT in its first page, the page tables after it).
 * Parameter: the dword at image offset 4 (guest address 0x1004), WHAT: 0 (default) zeroes
 *   the GDT page and then reloads DS; 1 zeroes the whole 64 KiB area and then reloads CR3.
 * Does: prints "wiping\n" to port 0xf1, zeroes the memory WHAT says, then makes the CPU use it:
 *   0: MOV to DS of selector 0x10, whose descriptor is now zero (not a data segment): #GP;
 *   1: CR3 reloaded with its own value flushes the TLB, so the next instruction fetch walks
 *      the zeroed PML4: #PF at the latest there (RIP 0x1044). A CPU may also drop cached
 *      translations earlier: kvm-pvm's shadow paging acts on the first zeroed PML4 entry at
 *      once and faults inside the REP STOSQ (RIP 0x103b, RCX 0x1dff).
 *   The VMM's IDT is empty (limit 0), so the fault becomes #GP, then a double fault, then a
 *   triple fault. If the guest ever got past that, it would print "survived\n" and exit 3.
 * Exercises: that what a guest does to its own memory - even to the VMM's setup in it - is
 *   the guest's problem: the VMM only sees KVM_EXIT_SHUTDOWN and reports a crash.
 * Expected: stdout "wiping\n", exit status 1 with a triple-fault crash report.
 */
	.code64
	.text
	.equ	VMM_AREA, 0x1f0000
	.equ	VMM_AREA_SIZE, 0x10000

	.globl	_start
_start:
	jmp	start
	.balign	4
what:	.long	0			# offset 4: patched by tests

start:
	cld
	lea	wiping(%rip), %rsi
	call	puts
	xor	%eax, %eax
	mov	$VMM_AREA, %edi
	cmpl	$0, what(%rip)
	jne	wipe_all

	mov	$4096 / 8, %ecx
	rep stosq			# the GDT page
	mov	$0x10, %eax
	mov	%eax, %ds		# a zero descriptor: #GP
	jmp	survived

wipe_all:
	mov	$VMM_AREA_SIZE / 8, %ecx
	rep stosq			# GDT and page tables
	mov	%cr3, %rax
	mov	%rax, %cr3		# flush the TLB: the next fetch walks zeroes

survived:
	lea	survived_msg(%rip), %rsi
	call	puts
	mov	$3, %al
	out	%al, $0xf4		# exit device: status 3
	hlt

/* puts: write the NUL-terminated string at RSI to port 0xf1. Clobbers AL, RSI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xf1
	jmp	puts
1:	ret

wiping:		.asciz	"wiping\n"
survived_msg:	.asciz	"survived\n"
