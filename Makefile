# runr: build, test, demo, install.
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build deps demo test test-unit test-reliability test-engines spec-test spec-test-runtime-tools spec-test-report lint install clean bench
.PHONY: install-files static fuzz test-fuzz

all: build

build:
	$(CARGO) build --release

deps:
	sh integration/deps.sh

# Builds a busybox bundle and runs a container from it.
demo: deps build
	sh integration/demo.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --features docgen -- -D warnings

# Unit tests, the end-to-end tests (real containers: run as root) and the
# engine tests (podman, containerd, Docker on runr).
test: test-unit test-reliability spec-test test-engines test-fuzz

test-unit: deps lint
	$(CARGO) test --all-targets --features docgen

# Faults, races and hostile bundles, then a leak check of the machine.
test-reliability: deps
	bash integration/reliability.sh

# libFuzzer targets over config parsing and the state reader, FUZZ_SECONDS
# (60) per target. `make test` runs them 30 s each (the instrumented build
# takes ~1.5 min on a fresh 2-core machine).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh

test-fuzz:
	FUZZ_SECONDS=30 sh fuzz/run.sh

# The runtime-spec conformance suite (spec-tests/); RUNTIME=/usr/sbin/runc to compare.
BIN := target/x86_64-unknown-linux-gnu/debug
RUNTIME ?= $(BIN)/runr
spec-test: deps
	$(CARGO) build --bins
	$(BIN)/runr-spec-test $(RUNTIME)

# The upstream OCI runtime-tools validation suite, built from Debian's packages
# into build/runtime-tools/ (spec-tests/runtime-tools.sh); RUNTIME=/usr/sbin/runc to compare.
spec-test-runtime-tools: deps
	$(CARGO) build --bins
	bash spec-tests/runtime-tools.sh $(RUNTIME)

# docs/spec-tests.md: runr and runc side by side, per section.
spec-test-report: deps
	$(CARGO) build --bins
	$(BIN)/runr-spec-test --report docs/spec-tests.md $(BIN)/runr $$(command -v runc)

# ENGINE_RUNTIME=runc make test-engines runs the same checks on runc.
ENGINE_RUNTIME ?= target/x86_64-unknown-linux-gnu/debug/runr
test-engines: deps
	$(CARGO) build
	bash integration/engines/run.sh $(ENGINE_RUNTIME)

# runr vs runc vs crun side by side (root, about 70 s after the build); RUNR=path measures another binary.
bench: deps build
	bash bench/bench.sh

# runr, its man pages (share/man/man8) and its bash, zsh and fish completions
# under $(DESTDIR)$(PREFIX). install-files takes them from OUT (the tests point
# it at the debug build). runr-docgen needs the docgen feature (Cargo.toml).
REL := target/x86_64-unknown-linux-gnu/release
OUT ?= $(REL)
install: build
	$(CARGO) build --release --features docgen --bin runr-docgen
	$(MAKE) install-files

install-files:
	install -D -m 0755 $(OUT)/runr $(DESTDIR)$(PREFIX)/bin/runr
	$(OUT)/runr-docgen $(DESTDIR)$(PREFIX) >/dev/null

# The release runr, checked to be statically linked (glibc: .cargo/config.toml).
static:
	$(CARGO) build --release --bin runr
	sh tools/check-static.sh $(REL)/runr

clean:
	$(CARGO) clean
	rm -rf build
