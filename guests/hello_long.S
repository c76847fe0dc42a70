/*
 * hello_long.S - greeting from 64-bit long mode.
 *
 * Mode: long (.code64): 64-bit code segment (0x08, L=1), data 0x10, PAE paging with 2 MiB
 *   pages identity-mapping at least RAM and the low 4 GiB, EFER.LME set, RSP valid.
 * Does: reads EFER (MSR 0xc0000080) with RDMSR and checks LMA (bit 10) is set, then does a
 *   64-bit register operation (1 << 32 in RAX, which is 0 unless the CPU really executes
 *   64-bit code). If both hold it prints "Hello from long mode\n" to port 0xf1 and HLTs;
 *   otherwise it prints "WRONG MODE\n" and writes 1 to the exit port 0xf4.
 * Exercises: the VMM's long-mode setup (EFER, CR0/CR4, the 4-level page tables, a 64-bit
 *   CS), RDMSR of EFER, RIP-relative addressing, the initial stack (CALL/RET), port output
 *   and HLT/exit-port termination.
 * Expected: stdout "Hello from long mode\n", exit status 0.
 *   On a wrong mode: stdout "WRONG MODE\n", exit status 1.
 */
	.code64
	.text
	.globl	_start
_start:
	cld
	mov	$0xc0000080, %ecx	# IA32_EFER
	rdmsr				# EDX:EAX = EFER
	test	$0x400, %eax		# EFER.LMA (bit 10): long mode active?
	jz	wrong_mode

	mov	$1, %eax		# (zero-extends into RAX)
	shl	$32, %rax		# RAX = 0x1_0000_0000 only in 64-bit mode
	shr	$32, %rax
	cmp	$1, %rax
	jne	wrong_mode

	lea	hello_msg(%rip), %rsi
	call	puts
	hlt				# stop: exit status 0

wrong_mode:
	lea	wrong_msg(%rip), %rsi
	call	puts
	mov	$1, %al
	out	%al, $0xf4		# exit device: status 1
	hlt				# not reached

/* puts: write the NUL-terminated string at RSI to port 0xf1. Clobbers AL, RSI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xf1
	jmp	puts
1:	ret

hello_msg:	.asciz	"Hello from long mode\n"
wrong_msg:	.asciz	"WRONG MODE\n"
