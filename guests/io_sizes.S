/*
 * io_sizes.S - port I/O of every access size (1, 2 and 4 bytes) to port 0x500.
 *
 * Mode: real mode (.code16; the dword accesses use the 0x66 operand-size prefix). No stack.
 * Does: OUT to port 0x500 the byte 0x11, then the word 0x2233, then the dword 0x44556677;
 *   then IN a byte, a word and a dword from port 0x500 and writes what was read to port 0xf1
 *   as raw little-endian bytes: 1 + 2 + 4 = 7 bytes. Then HLT.
 * Exercises: KVM_EXIT_IO of size 1, 2 and 4 in both directions and the VMM's little-endian
 *   packing of the data. Tests register a device on port 0x500 through the module API: it
 *   should see writes (size 1, 0x11), (size 2, 0x2233), (size 4, 0x44556677) in that order,
 *   then reads of size 1, 2, 4.
 * Expected: stdout = the 7 bytes the device returned, in order byte | word lo, hi |
 *   dword b0..b3; exit status 0. E.g. a device that returns 0x11 / 0x2233 / 0x44556677 gives
 *   11 33 22 77 66 55 44. (With no device on 0x500 the bytes are whatever the VMM returns
 *   for unclaimed ports, e.g. ff ff ff ff ff ff ff.)
 */
	.code16
	.text
	.equ	TEST_PORT, 0x500

	.globl	_start
_start:
	mov	$TEST_PORT, %dx
	mov	$0x11, %al
	out	%al, %dx		# 1-byte write
	mov	$0x2233, %ax
	out	%ax, %dx		# 2-byte write
	mov	$0x44556677, %eax
	out	%eax, %dx		# 4-byte write (0x66 prefix)

	in	%dx, %al		# 1-byte read
	out	%al, $0xf1

	in	%dx, %ax		# 2-byte read, low byte first
	out	%al, $0xf1
	mov	%ah, %al
	out	%al, $0xf1

	in	%dx, %eax		# 4-byte read, low byte first
	mov	$4, %cx
dword_byte:
	out	%al, $0xf1
	shr	$8, %eax
	loop	dword_byte

	hlt				# stop: exit status 0
