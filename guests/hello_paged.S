/*
 * hello_paged.S - greeting from 32-bit protected mode with paging on.
 *
 * Mode: paged (.code32): as protected mode, plus 32-bit (non-PAE) paging with 4 MiB pages
 *   (CR4.PSE) identity-mapping all 4 GiB.
 * Does: checks CR0.PE and CR0.PG are set, CR4.PSE (bit 4) is set and CR4.PAE (bit 5) is
 *   clear (4 MiB pages exist only in non-PAE 32-bit paging). If so it prints
 *   "Hello from paged mode\n" to port 0xf1 and HLTs; otherwise it prints "WRONG MODE\n" and
 *   writes 1 to the exit port 0xf4.
 * Exercises: the VMM's page directory (every instruction fetch, the string reads and the
 *   stack all go through the identity map), CR0/CR4 setup, the initial stack (CALL/RET),
 *   port output and HLT/exit-port termination.
 * Expected: stdout "Hello from paged mode\n", exit status 0.
 *   On a wrong mode: stdout "WRONG MODE\n", exit status 1.
 */
	.code32
	.text
	.globl	_start
_start:
	cld
	mov	%cr0, %eax
	test	$0x00000001, %eax	# CR0.PE
	jz	wrong_mode
	test	$0x80000000, %eax	# CR0.PG: paging must be on
	jz	wrong_mode
	mov	%cr4, %eax
	test	$0x00000010, %eax	# CR4.PSE: 4 MiB pages
	jz	wrong_mode
	test	$0x00000020, %eax	# CR4.PAE must be clear (32-bit paging)
	jnz	wrong_mode

	mov	$hello_msg, %esi
	call	puts
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

hello_msg:	.asciz	"Hello from paged mode\n"
wrong_msg:	.asciz	"WRONG MODE\n"
