/*
 * port_sweep.S - OUT and IN on every I/O port, 0 to 0xffff.
 *
 * Mode: long (.code64; run with --mode long and at least 2 MiB of RAM). It uses no stack; it
 *   keeps what each port read in a 64 KiB table at 0x100000.
 * Does: for each port p = 0 .. 0xffff: OUT the byte 'x' to p (except the exit port 0xf4),
 *   then IN a byte from p into table[p]. Then a dword OUT and IN at port 0xffff (the access
 *   runs past the last port), its value stored at table[0x10000..0x10003]. Then prints
 *   "\nswept\n" to port 0xf1 and HLTs.
 * Exercises: the port bus with every port: no port crashes or stops the VMM, unclaimed ports
 *   ignore writes and read 0xff, and only the consoles print: 'x' from 0xe9 (debugcon),
 *   0xf1 (the seed console) and 0x3f8 (COM1's transmitter) - in port order.
 * Expected: stdout "xxx\nswept\n", exit status 0; 131050 unclaimed port accesses (65524
 *   OUTs and 65524 INs on the 65536 - 12 ports nobody claims, and the two dword accesses).
 */
	.code64
	.text
	.equ	TABLE, 0x100000
	.equ	EXIT_PORT, 0xf4

	.globl	_start
_start:
	cld
	xor	%ecx, %ecx		# port
next_port:
	mov	%ecx, %edx
	cmp	$EXIT_PORT, %edx
	je	1f
	mov	$'x', %al
	out	%al, %dx
1:	in	%dx, %al
	mov	%al, TABLE(%rcx)
	inc	%ecx
	cmp	$0x10000, %ecx
	jne	next_port

	mov	$0xffff, %edx
	mov	$0x78787878, %eax
	out	%eax, %dx		# a dword at the last port
	in	%dx, %eax
	mov	%eax, TABLE + 0x10000

	lea	swept(%rip), %rsi
2:	lodsb
	test	%al, %al
	jz	3f
	out	%al, $0xf1
	jmp	2b
3:	hlt				# stop: exit status 0

swept:	.asciz	"\nswept\n"
