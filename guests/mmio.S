/*
 * mmio.S - MMIO accesses to the test window at guest-physical 0xd0000000.
 *
 * Mode: protected (.code32), flat segments, no paging. It uses no stack.
 * Does: writes the byte 'M' (0x4d) to [0xd0000000], the dword 0x12345678 to [0xd0000004],
 *   reads a dword from [0xd0000008] and writes its 4 bytes, low byte first, to port 0xf1.
 *   Then HLT.
 * Exercises: KVM_EXIT_MMIO for guest-physical addresses with no RAM behind them: writes of
 *   size 1 and 4 (the VMM must pass address, size and little-endian data to the handler) and
 *   a 4-byte read whose data the VMM must hand back to KVM. Tests register a handler at
 *   0xd0000000 through the module API; it should see write(0x0, [0x4d]),
 *   write(0x4, [0x78 0x56 0x34 0x12]), then read(0x8, 4 bytes).
 * Expected: stdout = the 4 bytes the handler returned for offset 8, little-endian; exit
 *   status 0. With nothing registered (unclaimed MMIO: writes ignored, reads all ones) the
 *   output is ff ff ff ff.
 */
	.code32
	.text
	.equ	MMIO_BASE, 0xd0000000

	.globl	_start
_start:
	movb	$0x4d, MMIO_BASE + 0		# 1-byte write: 'M'
	movl	$0x12345678, MMIO_BASE + 4	# 4-byte write
	mov	MMIO_BASE + 8, %eax		# 4-byte read

	mov	$4, %ecx
next_byte:
	out	%al, $0xf1
	shr	$8, %eax
	loop	next_byte

	hlt					# stop: exit status 0
