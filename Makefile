# grantdt: `make demo` and `make test` work on a fresh Debian machine with
# the Swift toolchain: they install the system packages they need first.

SWIFT ?= swift
PYTHON ?= python3
PREFIX ?= /usr/local
APT_PACKAGES := libfdt-dev device-tree-compiler
# dtschema's pylibfdt builds from source: venv, Python headers, a C compiler.
SCHEMA_APT_PACKAGES := python3-venv python3-dev gcc
# apt needs root: use sudo only when we are not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The shipped binary is fully static (no dynamic loader work at start-up,
# see BENCHMARKS.md), built in its own scratch path.
STATIC := -c release --scratch-path .build-static --static-swift-stdlib -Xswiftc -static-executable
RELEASE_BIN := .build-static/release/grantdt

# dt-validate in a project-local virtual environment (README.md, "Schemas").
VENV := .venv
DTSCHEMA := dtschema==2026.9
DT_VALIDATE := $(VENV)/bin/dt-validate

# libFuzzer targets (Fuzz/, FUZZING.md): seconds per target for `make fuzz`
# and for the smoke run inside `make test`.
FUZZ_TIME ?= 60
TEST_FUZZ_TIME ?= 10
FUZZ_TARGETS := dtb partial-dt xlcfg
FUZZ_BUILD := --package-path Fuzz --scratch-path .build-fuzz -c release \
	--sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address

# The concurrent suites that `make sanitize` runs under TSan and ASan: the
# grant engine, the virtio runtime (binder, transport, block protocol,
# end-to-end and hostile runs), `grantdt run` itself and `compile
# --out-dir` across batches, whose tests spawn the sanitized executable.
# Any report fails the run (TSan exits 66; LSan only skips the test tools'
# own leaks listed in the suppressions file).
SANITIZE_SUITES := GrantEngineTests|VirtioRuntimeTests|CLITests\.(Example)?RunTests|CLITests\.CompileTests/outDirReportsInOrder
LSAN_SUPPRESSIONS := $(CURDIR)/Tests/Sanitizers/lsan-suppressions.txt

.PHONY: all deps build demo test bench install clean schema-env fuzz fuzz-build fuzz-oracle fuzz-seeds sanitize

all: build

# Installs the Debian packages of $(1) that are missing (none on a prepared machine).
define apt_install
	@missing=""; \
	for package in $(1); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

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

# Unit, property, CLI, replay and schema tests; then every fuzz target for
# $(TEST_FUZZ_TIME) s; then the engine and end-to-end suites under TSan and
# ASan. Every stage runs even when one before it failed. The whole log
# streams (and stays in .build/test-STAGE.log); each stage's result and
# time, and the failures, are repeated at its end, where a CI summary that
# keeps only the tail still shows which test failed.
TEST_STAGES := unit fuzz sanitize

# Runs stage $(1), the command $(2), streaming its output into its log.
define test_stage
	@echo "== make test: $(1) =="
	@{ start=$$(date +%s); $(2) 2>&1; echo "$$? $$(( $$(date +%s) - start ))" > .build/test-$(1).status; } | tee .build/test-$(1).log
endef

test: deps schema-env
	$(SWIFT) build --build-tests
	@mkdir -p .build
	@rm -f .build/test-*.status .build/test-*.log
	$(call test_stage,unit,GRANTDT_REQUIRE_DTSCHEMA=1 $(SWIFT) test)
	$(call test_stage,fuzz,$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(TEST_FUZZ_TIME))
	$(call test_stage,sanitize,$(MAKE) --no-print-directory sanitize)
	@Tests/report-stages.sh .build $(TEST_STAGES)

# dtschema from PyPI into $(VENV), when missing.
schema-env: $(DT_VALIDATE)

$(DT_VALIDATE):
	$(call apt_install,$(SCHEMA_APT_PACKAGES))
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(DTSCHEMA)'

fuzz-build: deps
	$(SWIFT) build $(FUZZ_BUILD)

# Each target for $(FUZZ_TIME) s; fails on any crash, leak, timeout or sanitizer report.
fuzz: fuzz-build
	Fuzz/run-fuzz.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

# dtc as the oracle for the DTS printer over the seeds and everything the
# fuzzer has grown (.build-fuzz/corpus/dtb); slow: four processes per blob.
fuzz-oracle: build
	Fuzz/dtc-oracle.sh $(RELEASE_BIN) Fuzz/corpus/dtb/* $(wildcard .build-fuzz/corpus/dtb/*)

# Rebuilds the committed seed blobs from their DTS sources.
fuzz-seeds: deps
	Fuzz/make-seeds.sh

# Thread sanitizer, then address sanitizer, each in its own scratch path.
sanitize: deps
	$(SWIFT) test --scratch-path .build-tsan --sanitize=thread --filter '$(SANITIZE_SUITES)'
	LSAN_OPTIONS=suppressions=$(LSAN_SUPPRESSIONS):print_suppressions=0 \
		$(SWIFT) test --scratch-path .build-asan --sanitize=address --filter '$(SANITIZE_SUITES)'

bench: deps
	$(SWIFT) build $(STATIC) --product grantdt
	$(SWIFT) build $(STATIC) --product grantdt-bench
	.build-static/release/grantdt-bench

# Installed stripped: an unstripped static binary starts about 0.3 ms
# slower (BENCHMARKS.md, "Compiler"); the bench times the stripped form.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -s -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/grantdt

clean:
	rm -rf .build .build-*
