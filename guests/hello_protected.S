/*
 * hello_protected.S - greeting from 32-bit protected mode without paging.
 *
 * Mode: protected (.code32): the VMM enters at 0x1000 with flat 4 GiB code (0x08) and data
 *   (0x10) segments, paging off, ESP pointing at a stack near the top of RAM, interrupts off.
 * Does: reads CR0 and checks PE (bit 0) is set and PG (bit 31) is clear. If so it prints
 *   "Hello from protected mode\n" to port 0xf1 and HLTs; otherwise it prints "WRONG MODE\n"
 *   and writes 1 to the exit port 0xf4.
 * Exercises: the VMM's protected-mode setup (CR0, the GDT/segment caches: the string is read
 *   through DS with a 32-bit address, and the code runs as 32-bit code), the initial stack
 *   (CALL/RET of the print routine use ESP), port output, and HLT/exit-port termination.
 * Expected: stdout "Hello from protected mode\n", exit status 0.
 *   On a wrong mode: stdout "WRONG MODE\n", exit status 1.
 */
	.code32
	.text
	.globl	_start
_start:
	cld				# LODSB must walk forwards
	mov	%cr0, %eax
	test	$0x00000001, %eax	# CR0.PE: protected mode enabled?
	jz	wrong_mode
	test	$0x80000000, %eax	# CR0.PG: paging must be off here
	jnz	wrong_mode

	mov	$hello_msg, %esi
	call	puts			# uses the stack the VMM set up
	hlt				# stop: exit status 0

wrong_mode:
	mov	$wrong_msg, %esi
	call	puts
	mov	$1, %al
	out	%al, $0xf4		# exit device: status 1
	hlt				# not reached

/* puts: write the NUL-terminated string at DS:ESI to port 0xf1. Clobbers AL, ESI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xf1
	jmp	puts
1:	ret

hello_msg:	.asciz	"Hello from protected mode\n"
wrong_msg:	.asciz	"WRONG MODE\n"
