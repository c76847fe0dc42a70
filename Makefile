# microvmm build entry points. `make test` works on a fresh machine: it installs the pinned Deno
# into .tools/ (git-ignored) from the npm registry, then runs the whole test suite.

DENO_VERSION := 2.9.6
TOOLS := $(CURDIR)/.tools
DENO := $(TOOLS)/deno-$(DENO_VERSION)/deno
export DENO_DIR := $(CURDIR)/.cache/deno

.PHONY: all deno test check fmt lint bench build guests clean run

all: build

## deno: install the pinned Deno binary (the real one from @deno/linux-x64-glibc, not the npm shim)
deno: $(DENO)
$(DENO):
	@mkdir -p $(TOOLS)/tmp
	@echo "installing deno $(DENO_VERSION) into $(TOOLS)" >&2
	cd $(TOOLS)/tmp && npm pack --silent @deno/linux-x64-glibc@$(DENO_VERSION) >/dev/null
	mkdir -p $(dir $(DENO))
	tar -xzf $(TOOLS)/tmp/deno-linux-x64-glibc-$(DENO_VERSION).tgz -C $(dir $(DENO)) --strip-components=1 package/deno
	rm -rf $(TOOLS)/tmp
	@$(DENO) --version | head -1 >&2

## run: run the embedded hello guest
run: $(DENO)
	$(DENO) task run

test: $(DENO)
	$(DENO) task test

check: $(DENO)
	$(DENO) task check

fmt: $(DENO)
	$(DENO) fmt

lint: $(DENO)
	$(DENO) lint

bench: $(DENO)
	$(DENO) task bench

## build: ./microvmm — a deno compile standalone binary, or a launcher script when offline
build: $(DENO)
	@scripts/build.sh $(DENO) $(CURDIR)/microvmm

include guests/guests.mk

clean:
	rm -f microvmm

## test-nested: run the whole suite inside the nested full-KVM test host (tests/host/README.md)
.PHONY: test-nested
test-nested: $(DENO)
	$(DENO) task test:nested
