# Build rules for the flat guest binaries in guests/. Included by the top Makefile; also usable
# alone: `make -f guests/guests.mk guests GUEST_OUT=/some/dir` builds every guest into that dir
# (tests/guests_test.ts does exactly that and compares the result with the committed .bin files).
#
# Every guests/NAME.S becomes guests/NAME.bin (or $(GUEST_OUT)/NAME.bin): a flat image of the
# guest's .text section, linked to run at 0x1000 (DEFAULT_LOAD_ADDRESS), where the VMM loads and
# enters it. Sources are plain GNU as input, assembled by `as` itself (no C preprocessor: use
# .equ, not #define), and must put everything - code, strings, buffers - in .text, since only
# .text is copied out. Each source names its own mode (.code16/.code32/.code64); it is assembled
# as an x86-64 object so that all three can be used.
#
# The committed .bin files are the ones the VMM tests run, so a machine without binutils can
# still run the tests that use them; rebuild with `make guests` after editing a .S and commit
# both.

GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GUEST_OUT ?= $(GUEST_DIR)

GUEST_AS ?= as
GUEST_LD ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_ASFLAGS := --64
GUEST_LDFLAGS := -m elf_x86_64 -nostdlib -static --build-id=none -z noexecstack \
	-Ttext=0x1000 -e _start

GUEST_SRCS := $(sort $(wildcard $(GUEST_DIR)/*.S))
GUEST_BINS := $(patsubst $(GUEST_DIR)/%.S,$(GUEST_OUT)/%.bin,$(GUEST_SRCS))

.PHONY: guests
guests: $(GUEST_BINS)

# as -> ld (at 0x1000) -> objcopy the .text bytes. Intermediates sit next to the target and are
# removed whether or not the build worked; the .bin only appears when all three steps succeed.
$(GUEST_OUT)/%.bin: $(GUEST_DIR)/%.S $(GUEST_DIR)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_AS) $(GUEST_ASFLAGS) -o $@.o $< && \
	$(GUEST_LD) $(GUEST_LDFLAGS) -o $@.elf $@.o && \
	$(GUEST_OBJCOPY) -O binary -j .text $@.elf $@.tmp && \
	chmod 644 $@.tmp && mv -f $@.tmp $@; \
	status=$$?; rm -f $@.o $@.elf $@.tmp; exit $$status
