/*
 * uart_hello.S - prints through the COM1 16550 UART the way a real driver does.
 *
 * Mode: real mode (.code16), entered at 0:0x1000 with DS = 0. It uses no stack.
 * Does: initialises COM1 (0x3f8) like a driver: IER = 0 (no interrupts), LCR = 0x80 (DLAB=1),
 *   divisor latch DLL = 1 / DLM = 0 (115200 baud), LCR = 0x03 (8N1, DLAB=0), FCR = 0x07
 *   (enable FIFOs, clear both), MCR = 0x03 (DTR|RTS). Then, for each byte of
 *   "Hello from COM1\n", it polls LSR until THRE (bit 5) is set and writes the byte to THR.
 *   Then HLT.
 * Exercises: the 16550 register file (DLAB switching +0/+1 to the divisor latch, so the
 *   divisor writes must NOT reach THR and print), LSR.THRE reporting the transmitter ready,
 *   THR output reaching stdout, and port I/O through DX.
 * Expected: stdout "Hello from COM1\n" (and nothing else: no divisor bytes), exit status 0.
 */
	.code16
	.text

	.equ	COM1, 0x3f8
	.equ	UART_THR, COM1 + 0	# transmit holding register (DLAB=0, write)
	.equ	UART_DLL, COM1 + 0	# divisor latch low (DLAB=1)
	.equ	UART_IER, COM1 + 1	# interrupt enable (DLAB=0)
	.equ	UART_DLM, COM1 + 1	# divisor latch high (DLAB=1)
	.equ	UART_FCR, COM1 + 2	# FIFO control (write)
	.equ	UART_LCR, COM1 + 3	# line control
	.equ	UART_MCR, COM1 + 4	# modem control
	.equ	UART_LSR, COM1 + 5	# line status
	.equ	LSR_THRE, 0x20		# transmit holding register empty

	.globl	_start
_start:
	cld
	mov	$UART_IER, %dx
	mov	$0x00, %al		# no UART interrupts
	out	%al, %dx
	mov	$UART_LCR, %dx
	mov	$0x80, %al		# DLAB=1: +0/+1 are now the divisor latch
	out	%al, %dx
	mov	$UART_DLL, %dx
	mov	$0x01, %al		# divisor 1 = 115200 baud
	out	%al, %dx
	mov	$UART_DLM, %dx
	mov	$0x00, %al
	out	%al, %dx
	mov	$UART_LCR, %dx
	mov	$0x03, %al		# 8 data bits, no parity, 1 stop bit; DLAB=0
	out	%al, %dx
	mov	$UART_FCR, %dx
	mov	$0x07, %al		# enable FIFOs, clear RX and TX FIFOs
	out	%al, %dx
	mov	$UART_MCR, %dx
	mov	$0x03, %al		# DTR | RTS
	out	%al, %dx

	mov	$message, %si
next_byte:
	lodsb				# AL = DS:[SI++]
	test	%al, %al
	jz	done
	mov	%al, %bl
	mov	$UART_LSR, %dx
wait_thre:
	in	%dx, %al
	test	$LSR_THRE, %al		# transmitter ready for a byte?
	jz	wait_thre
	mov	$UART_THR, %dx
	mov	%bl, %al
	out	%al, %dx
	jmp	next_byte
done:
	hlt				# stop: exit status 0

message:	.asciz	"Hello from COM1\n"
