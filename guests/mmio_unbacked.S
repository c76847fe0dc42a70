/*
 * mmio_unbacked.S - loads and stores of every size to guest-physical addresses nobody backs.
 *
 * Mode: long (.code64; run with --mode long and --mem 2M): the identity map covers the low
 *   4 GiB, so every address below is mapped, but only 0-2 MiB is RAM. It uses the stack
 *   (CALL/RET).
 * Does: for each of 0x200000 (the first byte past 2 MiB of RAM), 0x40000000, 0xd0000000,
 *   0xfee00000 (where a local APIC would be) and 0xfffffff8 (the last qword below 4 GiB):
 *   stores a byte, a word, a dword and a qword, then loads a byte, a word, a dword and a qword
 *   (zero-extended) and counts in R15 each load that is not all ones for its size. Prints
 *   "mmio: all ones\n" to port 0xf1 when R15 is 0, else "mmio: NOT all ones\n"; then HLT.
 * Exercises: KVM_EXIT_MMIO of sizes 1, 2, 4 and 8 in both directions with no device behind
 *   them: the VMM counts each as unclaimed, drops the stores and answers the loads with all
 *   ones, like a PC bus. 5 addresses x 8 accesses = 40 unclaimed MMIO exits.
 * Expected: stdout "mmio: all ones\n", exit status 0, R15 = 0.
 */
	.code64
	.text
	.globl	_start
_start:
	cld
	xor	%r15d, %r15d		# loads that were not all ones
	lea	addresses(%rip), %rbx
next_address:
	mov	(%rbx), %rdi
	test	%rdi, %rdi
	jz	report
	call	probe
	add	$8, %rbx
	jmp	next_address

report:
	lea	all_ones(%rip), %rsi
	test	%r15, %r15
	jz	1f
	lea	not_all_ones(%rip), %rsi
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, $0xf1
	jmp	1b
2:	hlt				# stop: exit status 0

/* probe: 4 stores and 4 loads at RDI; R15 += loads that were not all ones. Clobbers RAX, RCX. */
probe:
	movb	$0x11, (%rdi)
	movw	$0x2222, (%rdi)
	movl	$0x33333333, (%rdi)
	movabs	$0x4444444444444444, %rax
	mov	%rax, (%rdi)

	movzbq	(%rdi), %rax
	cmp	$0xff, %rax
	je	1f
	inc	%r15
1:	movzwq	(%rdi), %rax
	cmp	$0xffff, %rax
	je	2f
	inc	%r15
2:	mov	(%rdi), %eax		# zero-extends into RAX
	mov	$0xffffffff, %ecx
	cmp	%rcx, %rax
	je	3f
	inc	%r15
3:	mov	(%rdi), %rax
	cmp	$-1, %rax
	je	4f
	inc	%r15
4:	ret

	.balign	8
addresses:
	.quad	0x200000, 0x40000000, 0xd0000000, 0xfee00000, 0xfffffff8, 0
all_ones:	.asciz	"mmio: all ones\n"
not_all_ones:	.asciz	"mmio: NOT all ones\n"
