/*
 * bench_exits.S - exactly 200000 port-I/O exits, for benchmarks.
 *
 * Mode: long (.code64). It uses no stack and no memory besides its own code.
 * Does: 200000 times OUT AL to port 0x80 (the POST port: harmless, never printed), then
 *   writes 0 to the exit port 0xf4. The HLT after it is never reached.
 * Exercises: the cost of one KVM_RUN round trip for a port write (KVM_EXIT_IO dispatch in
 *   the VMM) - divide the run time by 200000. Stdout stays empty, so output handling does
 *   not distort the numbers.
 * Expected: stdout empty, exit status 0 (through the exit device, after 200001 I/O exits).
 */
	.code64
	.text
	.equ	ITERATIONS, 200000

	.globl	_start
_start:
	xor	%eax, %eax		# AL = 0: the POST code written, and the exit status
	mov	$ITERATIONS, %ecx
1:	out	%al, $0x80		# one I/O exit
	dec	%ecx
	jnz	1b
	out	%al, $0xf4		# exit device: status 0
	hlt				# not reached
