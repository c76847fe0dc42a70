/*
 * triple_fault.S - a guest that faults with no way to handle it.
 *
 * Mode: protected mode (.code32; run with --mode protected). The VMM enters with IDTR limit 0.
 * Does: UD2. #UD (vector 6) is outside the empty IDT -> #GP, also outside -> double fault ->
 *   triple fault: the vCPU shuts down (KVM_EXIT_SHUTDOWN), on real KVM and on PVM alike.
 *   (A real-mode INT 3 with an empty IDT would be the classic version, but on PVM hosts real
 *   mode is emulated and that never ends in a shutdown.)
 * Exercises: the VMM's handling of KVM_EXIT_SHUTDOWN: a crash report on stderr and exit
 *   status 1, never a hang or a success.
 * Expected: stdout empty; status 1. If execution ever continued (it must not), status 3.
 */
	.code32
	.text
	.globl	_start
_start:
	ud2				# undefined opcode with no IDT: triple fault
	mov	$3, %al			# never reached
	out	%al, $0xf4
	hlt
