/*
 * huge_insb.S - REP INSB of 0x7fffffff bytes from an unclaimed port into RAM.
 *
 * Mode: long (.code64; run with --mode long --mem 2M). It uses no stack.
 * Does: RCX = 0x7fffffff, RDI = 0x10000, DX = 0x5ca1 (no device), then one REP INSB: it
 *   would read 2 GiB - 1 bytes, each 0xff, into memory from 0x10000 up - over the VMM area
 *   and far past the end of 2 MiB of RAM. If it ever ended it would print "insb ended\n" and
 *   HLT.
 * Exercises: a string I/O instruction with a huge count: KVM exits with a batch of bytes
 *   (kvm-pvm: 1 KiB, a real KVM: up to a page) and the VMM must answer each byte, count each
 *   as an unclaimed port read, and still stop the guest on a timeout. With 2 MiB of RAM the
 *   bytes reach the VMM area's page tables at 0x1f1000 after 1.9 MiB; the next page walk
 *   then faults (a triple fault, IDT limit 0), long before RCX runs out.
 * Expected: a triple-fault crash report (status 1) with RCX = 0x7fffffff minus the bytes
 *   read, or - on a host too slow to get there - the timeout (status 124) while still inside
 *   the REP INSB; never "insb ended".
 */
	.code64
	.text
	.equ	UNCLAIMED_PORT, 0x5ca1

	.globl	_start
_start:
	cld
	mov	$0x7fffffff, %ecx
	mov	$0x10000, %edi
	mov	$UNCLAIMED_PORT, %dx
	rep insb
	lea	ended(%rip), %rsi
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, $0xf1
	jmp	1b
2:	hlt

ended:	.asciz	"insb ended\n"
