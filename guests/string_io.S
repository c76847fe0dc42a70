/*
 * string_io.S - REP OUTSB and REP INSB (string port I/O).
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = ES = 0. It uses no stack.
 * Does: REP OUTSB of the 17 bytes "String I/O works\n" from DS:SI to port 0xf1 (CX = 17),
 *   then REP INSB of 4 bytes from port 0xe9 (debugcon; every read returns 0xe9) into a
 *   zeroed buffer at ES:DI (CX = 4). It then checks that CX reached 0, DI advanced by 4 and
 *   all four bytes are 0xe9, and prints "insb ok\n" (or "insb bad\n") to 0xf1 with another
 *   REP OUTSB. Then HLT.
 * Exercises: KVM_EXIT_IO with count > 1 (string/REP I/O): the VMM must hand every byte of
 *   the data area to the device for OUTS, and fill every byte for INS.
 * Expected: stdout "String I/O works\ninsb ok\n", exit status 0.
 */
	.code16
	.text
	.globl	_start
_start:
	cld				# string ops walk forwards

	mov	$out_msg, %si
	mov	$out_msg_len, %cx
	mov	$0xf1, %dx
	rep outsb			# 17 bytes to the seed console

	mov	$in_buf, %di
	mov	$4, %cx
	mov	$0xe9, %dx
	rep insb			# 4 bytes from debugcon into ES:[DI]

	test	%cx, %cx		# all 4 transferred?
	jnz	bad
	cmp	$in_buf + 4, %di
	jne	bad
	mov	$in_buf, %si
	mov	$4, %cx
check_byte:
	lodsb
	cmp	$0xe9, %al		# debugcon reads return 0xe9
	jne	bad
	loop	check_byte

	mov	$ok_msg, %si
	mov	$ok_msg_len, %cx
	jmp	report
bad:
	mov	$bad_msg, %si
	mov	$bad_msg_len, %cx
report:
	mov	$0xf1, %dx
	rep outsb
	hlt				# stop: exit status 0

out_msg:	.ascii	"String I/O works\n"
	.equ	out_msg_len, . - out_msg	# 17
ok_msg:		.ascii	"insb ok\n"
	.equ	ok_msg_len, . - ok_msg
bad_msg:	.ascii	"insb bad\n"
	.equ	bad_msg_len, . - bad_msg
in_buf:		.byte	0, 0, 0, 0		# overwritten by REP INSB
