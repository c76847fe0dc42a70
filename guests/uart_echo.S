/*
 * uart_echo.S - echoes COM1 input back to COM1 until it reads 'q'.
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = 0. It uses no stack.
 * Does: initialises COM1 like uart_hello.S (IER 0, divisor 1, 8N1, FIFOs, DTR|RTS), prints
 *   the prompt "echo> " through THR (polling LSR.THRE before each byte), then loops: poll
 *   LSR until DR (bit 0) is set, read the byte from RBR; if it is 'q' (0x71) HLT without
 *   echoing it, otherwise wait for THRE and write it back to THR.
 * Exercises: the UART's receive path (stdin bytes queued in the RX FIFO, LSR.DR, RBR reads
 *   popping the FIFO) and transmit path, and a guest that busy-polls LSR (many I/O exits).
 * Expected: with stdin "abc\nq", stdout "echo> abc\n", exit status 0. Every byte before the
 *   first 'q' is echoed unchanged (no CR/LF translation); input after the 'q' is never read.
 *   If stdin ends without a 'q' the guest polls forever (use --timeout).
 */
	.code16
	.text

	.equ	COM1, 0x3f8
	.equ	UART_RBR, COM1 + 0	# receive buffer (DLAB=0, read)
	.equ	UART_THR, COM1 + 0	# transmit holding register (DLAB=0, write)
	.equ	UART_DLL, COM1 + 0	# divisor latch low (DLAB=1)
	.equ	UART_IER, COM1 + 1	# interrupt enable (DLAB=0)
	.equ	UART_DLM, COM1 + 1	# divisor latch high (DLAB=1)
	.equ	UART_FCR, COM1 + 2	# FIFO control (write)
	.equ	UART_LCR, COM1 + 3	# line control
	.equ	UART_MCR, COM1 + 4	# modem control
	.equ	UART_LSR, COM1 + 5	# line status
	.equ	LSR_DR, 0x01		# data ready
	.equ	LSR_THRE, 0x20		# transmit holding register empty
	.equ	QUIT_CHAR, 0x71		# 'q'

/* Write BL to THR once LSR.THRE is set. Clobbers AL, DX. */
	.macro	uart_putc_bl
	mov	$UART_LSR, %dx
1:	in	%dx, %al
	test	$LSR_THRE, %al
	jz	1b
	mov	$UART_THR, %dx
	mov	%bl, %al
	out	%al, %dx
	.endm

	.globl	_start
_start:
	cld
	mov	$UART_IER, %dx
	mov	$0x00, %al		# no UART interrupts
	out	%al, %dx
	mov	$UART_LCR, %dx
	mov	$0x80, %al		# DLAB=1
	out	%al, %dx
	mov	$UART_DLL, %dx
	mov	$0x01, %al		# divisor 1 = 115200 baud
	out	%al, %dx
	mov	$UART_DLM, %dx
	mov	$0x00, %al
	out	%al, %dx
	mov	$UART_LCR, %dx
	mov	$0x03, %al		# 8N1, DLAB=0
	out	%al, %dx
	mov	$UART_FCR, %dx
	mov	$0x07, %al		# enable FIFOs, clear RX and TX FIFOs
	out	%al, %dx
	mov	$UART_MCR, %dx
	mov	$0x03, %al		# DTR | RTS
	out	%al, %dx

	mov	$prompt, %si
prompt_byte:
	lodsb
	test	%al, %al
	jz	echo_loop
	mov	%al, %bl
	uart_putc_bl
	jmp	prompt_byte

echo_loop:
	mov	$UART_LSR, %dx
wait_dr:
	in	%dx, %al
	test	$LSR_DR, %al		# a received byte waiting?
	jz	wait_dr
	mov	$UART_RBR, %dx
	in	%dx, %al		# take it (pops the RX FIFO)
	cmp	$QUIT_CHAR, %al
	je	done			# 'q': stop, not echoed
	mov	%al, %bl
	uart_putc_bl
	jmp	echo_loop
done:
	hlt				# stop: exit status 0

prompt:	.asciz	"echo> "
