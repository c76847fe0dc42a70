/*
 * runaway.S - a guest that never stops and never exits to the VMM.
 *
 * Mode: real mode (.code16); the 2 bytes "eb fe" are an infinite loop in any mode.
 * Does: JMP to itself forever. No I/O, no HLT.
 * Exercises: the VMM's --timeout (it must kick the vCPU out of KVM_RUN, e.g. with a signal
 *   or immediate_exit, and stop the VM), since this guest alone never causes an exit.
 * Expected: stdout empty; runs until the timeout, then the VMM's timeout exit status.
 */
	.code16
	.text
	.globl	_start
_start:
	jmp	.			# forever
