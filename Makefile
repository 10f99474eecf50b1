# grantdt: `make demo` and `make test` work on a fresh Debian machine with
# the Swift toolchain: they install the system packages they need first.

SWIFT ?= swift
PREFIX ?= /usr/local
APT_PACKAGES := libfdt-dev device-tree-compiler
# apt needs root: use sudo only when we are not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The shipped binary is fully static (no dynamic loader work at start-up,
# see BENCHMARKS.md), built in its own scratch path.
STATIC := -c release --scratch-path .build-static --static-swift-stdlib -Xswiftc -static-executable
RELEASE_BIN := .build-static/release/grantdt

.PHONY: all deps build demo test bench install clean

all: build

# Install the Debian packages that are missing (none on a prepared machine).
deps:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build $(STATIC) --product grantdt

# The examples' flags: backend names from examples/domains, and the size
# of the ramdisk that lives on the Xen host, not here.
DEMO := .build/demo
EXAMPLE_FLAGS := --domains examples/domains --ramdisk-size 8M

demo: build
	@mkdir -p $(DEMO)
	@echo "== grantdt compile: every guest in examples/ (blob and labelled DTS) =="
	@for config in examples/*.cfg; do \
		name=$$(basename $$config .cfg); \
		$(RELEASE_BIN) compile $$config -o $(DEMO)/$$name.dtb --dts $(DEMO)/$$name.dts $(EXAMPLE_FLAGS) 2>$(DEMO)/$$name.log \
			|| { cat $(DEMO)/$$name.log; exit 1; }; \
		dtc -q -I dts -O dtb -o $(DEMO)/$$name.from-dts.dtb $(DEMO)/$$name.dts; \
		dtc -q -I dtb -O dtb -o $(DEMO)/$$name.from-dtb.dtb $(DEMO)/$$name.dtb; \
		cmp -s $(DEMO)/$$name.from-dts.dtb $(DEMO)/$$name.from-dtb.dtb || { echo "dtc reads $(DEMO)/$$name.dts and .dtb as different trees"; exit 1; }; \
		printf '  %-34s -> %s (%s bytes; dtc reads it and the DTS as one tree)\n' $$config $(DEMO)/$$name.dtb $$(wc -c < $(DEMO)/$$name.dtb); \
	done
	@echo
	@echo "== examples/named-backends.cfg: the virtio part of its tree =="
	@sed -n '/virtio@/,$$p' $(DEMO)/named-backends.dts
	@echo
	@echo "== grantdt inspect: the DMA ops Linux gives each device =="
	$(RELEASE_BIN) inspect $(DEMO)/named-backends.dtb
	@echo
	@echo "== grantdt run --hostile: real requests through the grant engine, every backend attacking =="
	@$(RELEASE_BIN) run examples/named-backends.cfg $(EXAMPLE_FLAGS) --requests 200 --hostile \
		> $(DEMO)/run.txt 2> $(DEMO)/run.log; status=$$?; \
		sed '/^what each attack tried/,$$d' $(DEMO)/run.txt; \
		echo "(exit code $$status; what each attack tried, in $(DEMO)/run.txt: under grants refused or contained, the direct device reached what it was never given)"; \
		[ $$status = 0 ] || { cat $(DEMO)/run.log; exit 1; }
	@echo
	@echo "== grantdt validate: a config with mistakes =="
	@printf '%s\n' 'name = "demo"' 'memory = 512' \
		"disk = [ 'backend=storage, specification=virtio, vdev=xvda, target=/dev/vg0/demo' ]" \
		"virtio = [ 'backend=2, type=virtio, device22, transport=mmio' ]" > $(DEMO)/mistakes.cfg
	@$(RELEASE_BIN) validate $(DEMO)/mistakes.cfg || echo "(exit code $$?: the config has errors, so compile would write nothing)"
	@echo
	@echo "demo: $$(ls examples/*.cfg | wc -l) example guests compiled into $(DEMO)/; dtc agrees with every one."

# The whole log streams; the failures are repeated at its end, where a
# CI summary that keeps only the tail still shows which test failed.
test: deps
	$(SWIFT) build --build-tests
	@mkdir -p .build
	@{ $(SWIFT) test 2>&1; echo $$? > .build/test.status; } | tee .build/test.log
	@status=$$(cat .build/test.status); \
	if [ "$$status" != 0 ]; then \
		echo "== failures (full log: .build/test.log) =="; \
		grep -E '✘|error:|Fatal error|Test Case .* failed' .build/test.log | grep -v ' started' | tail -40; \
	fi; \
	exit $$status

bench: deps
	$(SWIFT) build $(STATIC) --product grantdt
	$(SWIFT) build $(STATIC) --product grantdt-bench
	.build-static/release/grantdt-bench

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/grantdt

clean:
	rm -rf .build .build-*
