/*
 * hlt_only.S - the smallest guest: one HLT (1 byte, f4).
 *
 * Mode: any (f4 is HLT in real, protected, paged and long mode); assembled as .code16.
 * Does: HLT as its first instruction.
 * Exercises: the VMM's create -> first KVM_RUN -> first exit path with nothing else in it,
 *   for latency benchmarks; and that HLT ends the run with status 0.
 * Expected: stdout empty, exit status 0.
 */
	.code16
	.text
	.globl	_start
_start:
	hlt				# stop: exit status 0
