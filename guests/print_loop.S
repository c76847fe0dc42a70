/*
 * print_loop.S - prints a line and a half, then loops forever without another exit.
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = 0. It uses no stack.
 * Does: writes "ready\n" and then "no newline yet" (no trailing newline) to port 0xf1, then
 *   JMPs to itself forever. No HLT, no exit port.
 * Exercises: that output written before the VMM is stopped from outside (a signal, a
 *   timeout) reaches stdout, including a last line without a newline, which only the
 *   VMM's flush at the end of each run slice or at exit can deliver.
 * Expected: stdout "ready\nno newline yet", then it runs until stopped (SIGINT, SIGTERM,
 *   SIGHUP: status 128+N; --timeout: 124).
 */
	.code16
	.text
	.globl	_start
_start:
	cld
	mov	$message, %si
next_byte:
	lodsb
	test	%al, %al
	jz	forever
	out	%al, $0xf1
	jmp	next_byte
forever:
	jmp	.			# no more exits

message:	.asciz	"ready\nno newline yet"
