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

demo: build
	@echo "== dtc assembles a libxl-layout guest tree; grantdt reads it back =="
	@mkdir -p .build/demo
	dtc -q -I dts -O dtb -o .build/demo/guest.dtb examples/reference/virtio-disk-guest.dts
	$(RELEASE_BIN) decompile .build/demo/guest.dtb

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

bench: deps
	$(SWIFT) build $(STATIC) --product grantdt
	$(SWIFT) build $(STATIC) --product grantdt-bench
	.build-static/release/grantdt-bench

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/grantdt

clean:
	rm -rf .build .build-*
