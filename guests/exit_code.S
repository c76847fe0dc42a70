/*
 * exit_code.S - ends the VM through the exit device with status 42.
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = 0. It uses no stack.
 * Does: prints "exiting with 42\n" to port 0xf1, then writes the byte 42 to port 0xf4.
 *   The HLT after it must never run.
 * Exercises: the exit device (a 1-byte OUT of v to 0xf4 stops the VM and the process exits
 *   with status v) and that the VMM stops right at that OUT (output already written is kept,
 *   nothing after it runs).
 * Expected: stdout "exiting with 42\n", exit status 42.
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
	jz	exit
	out	%al, $0xf1
	jmp	next_byte
exit:
	mov	$42, %al
	out	%al, $0xf4		# exit device: status 42
	hlt				# never reached (it would mean status 0)

message:	.asciz	"exiting with 42\n"
