/*
 * smc.S - self-modifying code: writes instructions, then executes them.
 *
 * Mode: long (.code64; run with --mode long). It uses the stack (CALL/RET) and RAM at
 *   0x20000 for the code it writes.
 * Does: copies a 5-byte routine "mov $imm8, %al; out %al, $0xf1; ret" (b0 ii e6 f1 c3) to
 *   0x20000; for each byte of "self-modified\n" stores the byte over the routine's immediate
 *   and calls it. Then it patches its own instruction stream: it stores 42 over the immediate
 *   of the "mov $0, %al" that comes right after the store, and that instruction's value goes
 *   to the exit port 0xf4.
 * Exercises: that guest writes to code reach what the vCPU executes - code written to RAM
 *   that was never executed before, code modified between executions, and the next
 *   instruction modified under the CPU's prefetch (x86 requires all three to see the new
 *   bytes; on kvm-pvm the emulator fetches from memory anyway).
 * Expected: stdout "self-modified\n", exit status 42 (status 0 means the stale "mov $0, %al"
 *   ran).
 */
	.code64
	.text
	.equ	STUB, 0x20000

	.globl	_start
_start:
	cld
	lea	stub_template(%rip), %rsi
	mov	$STUB, %edi
	mov	$stub_len, %ecx
	rep movsb			# write the routine

	lea	message(%rip), %rsi
next_byte:
	lodsb
	test	%al, %al
	jz	patch_self
	mov	%al, STUB + 1		# its immediate
	mov	$STUB, %eax
	call	*%rax			# execute what was just written
	jmp	next_byte

patch_self:
	movb	$42, patched + 1(%rip)	# the immediate of the very next instruction
patched:
	mov	$0, %al			# runs as "mov $42, %al"
	out	%al, $0xf4		# exit device: status 42
	hlt

stub_template:
	mov	$0, %al
	out	%al, $0xf1
	ret
	.equ	stub_len, . - stub_template
message:	.asciz	"self-modified\n"
