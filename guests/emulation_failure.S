/*
 * emulation_failure.S - a guest that jumps into memory that is neither RAM nor a device.
 *
 * Mode: long mode (.code64; run with --mode long). 0xd0000000 is in the identity map but not
 *   backed by RAM, so fetching an instruction there is an MMIO access KVM cannot emulate.
 * Exercises: KVM_EXIT_INTERNAL_ERROR (suberror KVM_INTERNAL_ERROR_EMULATION): the VMM
 *   reports it with the registers and exits with status 1.
 * Expected: stdout empty; status 1.
 */
	.code64
	.text
	.globl	_start
_start:
	mov	$0xd0000000, %eax	# zero-extends into RAX
	jmp	*%rax			# instruction fetch from unbacked memory
