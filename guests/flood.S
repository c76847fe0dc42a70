/*
 * flood.S - writes CHUNKS x 4 KiB to the debug port 0xe9 with REP OUTSB, as fast as it can.
 *
 * Mode: long (.code64; run with --mode long): RIP-relative addressing, a 64-bit count.
 *   It uses no stack. Its buffer is RAM at 0x10000-0x10fff (above the image, below the VMM
 *   area of any --mem of 128K or more).
 * Parameter: the dword at image offset 4 (guest address 0x1004), CHUNKS, is the number of
 *   4 KiB chunks (default 256: 1 MiB). Tests write a copy with another value there.
 * Does: fills the buffer with the pattern buf[i] = (37 * i + (i >> 8)) & 0xff, i = 0..4095
 *   (it holds every byte value, newlines included), then for k = 0 .. CHUNKS-1 stores k as a
 *   little-endian dword over buf[0..3] and writes the 4096 bytes to port 0xe9 with one
 *   REP OUTSB. Then HLT.
 * Exercises: console output under load: a million KVM_EXIT_IOs (KVM emulates REP OUTSB one
 *   byte per exit: seen on kvm-pvm and on the nested host's KVM), the console sink's buffering
 *   and partial writes to a slow pipe. Every chunk is numbered, so a lost, doubled or reordered
 *   chunk shows.
 * Expected: stdout = CHUNKS x 4096 bytes, chunk k = (k as 4 LE bytes) + buf[4..4095];
 *   exit status 0.
 */
	.code64
	.text
	.equ	BUF, 0x10000
	.equ	CHUNK, 4096
	.equ	DEBUGCON, 0xe9

	.globl	_start
_start:
	jmp	start
	.balign	4
chunks:	.long	256			# offset 4: patched by tests

start:
	cld
	mov	$BUF, %edi
	xor	%ecx, %ecx		# i
fill:
	imul	$37, %ecx, %eax		# 37 * i
	mov	%ecx, %edx
	shr	$8, %edx		# i >> 8
	add	%edx, %eax
	stosb				# buf[i] = low byte
	inc	%ecx
	cmp	$CHUNK, %ecx
	jne	fill

	mov	chunks(%rip), %ebx	# chunks left to write
	xor	%r8d, %r8d		# k
	mov	$DEBUGCON, %dx
next_chunk:
	test	%ebx, %ebx
	jz	done
	mov	%r8d, BUF		# chunk number over buf[0..3]
	mov	$BUF, %esi
	mov	$CHUNK, %ecx
	rep outsb			# 4096 bytes to the debug port
	inc	%r8d
	dec	%ebx
	jmp	next_chunk
done:
	hlt				# stop: exit status 0
