/*
 * hello.S - the seed guest, byte for byte (25 bytes).
 *
 * Mode: real mode (.code16), loaded and entered at 0x1000.
 * Does: writes "Hello\n" one byte at a time to port 0xf1 (the seed console), then HLT.
 * Exercises: the VMM's real-mode entry (CS:IP = 0:0x1000), KVM_EXIT_IO for 1-byte OUT to
 *   the seed console, and HLT ending the run with exit status 0.
 * Expected: stdout "Hello\n", exit status 0.
 *
 * It must stay exactly b0 48 e6 f1 b0 65 e6 f1 b0 6c e6 f1 b0 6c e6 f1 b0 6f e6 f1 b0 0a e6 f1 f4
 * (tests/guests_test.ts checks it), so it is unrolled: MOV AL,imm8 (b0 ib) and OUT imm8,AL
 * (e6 ib) encode the same in every mode, and there are no addresses to relocate.
 */
	.code16
	.text
	.globl	_start
_start:
	mov	$0x48, %al	# 'H'
	out	%al, $0xf1
	mov	$0x65, %al	# 'e'
	out	%al, $0xf1
	mov	$0x6c, %al	# 'l'
	out	%al, $0xf1
	mov	$0x6c, %al	# 'l'
	out	%al, $0xf1
	mov	$0x6f, %al	# 'o'
	out	%al, $0xf1
	mov	$0x0a, %al	# '\n'
	out	%al, $0xf1
	hlt			# stop: exit status 0
