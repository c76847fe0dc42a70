/*
 * triple_fault.S - a guest that faults with no way to handle it.
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = 0. It uses no stack of its own.
 * Does: LIDT of a descriptor with limit 0 (base 0), so no interrupt vector fits in the IDT,
 *   then INT 3. Vector 3 is outside the limit -> #GP, whose vector is outside it too ->
 *   double fault -> triple fault. On real KVM the vCPU shuts down (KVM_EXIT_SHUTDOWN); on a
 *   PVM host the INT 3 instead ends in an emulation failure. Either is a correct outcome.
 * Exercises: the VMM's handling of KVM_EXIT_SHUTDOWN / KVM_EXIT_INTERNAL_ERROR: it must
 *   report the guest crash on stderr and exit with a non-zero status, not hang or succeed.
 * Expected: stdout empty; a non-zero exit status chosen by the VMM for a guest crash.
 *   If execution ever continued past the INT (it must not), the guest exits with status 1.
 */
	.code16
	.text
	.globl	_start
_start:
	lidt	empty_idt		# IDTR = { limit 0, base 0 }
	int	$3			# cannot be delivered: triple fault (gas emits the
					# one-byte INT3, cc)
	mov	$1, %al			# never reached
	out	%al, $0xf4
	hlt

empty_idt:
	.word	0			# limit
	.long	0			# base
