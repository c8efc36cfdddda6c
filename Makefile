# runr: build, test, demo, install.
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build deps demo test test-unit test-reliability test-engines spec-test spec-test-report lint install clean bench fuzz

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
	$(CARGO) clippy --all-targets -- -D warnings

# Unit tests, the end-to-end tests (real containers: run as root) and the
# engine tests (podman, containerd, Docker on runr).
test: test-unit test-reliability spec-test test-engines

test-unit: deps lint
	$(CARGO) test --all-targets

# Faults, races and hostile bundles, then a leak check of the machine.
test-reliability: deps
	bash integration/reliability.sh

# cargo-fuzz over config parsing and the state reader, FUZZ_SECONDS (60)
# per target; not part of `make test` (installing cargo-fuzz and the
# instrumented build alone take ~10 min on a fresh 2-core machine).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh

# The runtime-spec conformance suite (spec-tests/); RUNTIME=/usr/sbin/runc to compare.
BIN := target/x86_64-unknown-linux-gnu/debug
RUNTIME ?= $(BIN)/runr
spec-test: deps
	$(CARGO) build --bins
	$(BIN)/runr-spec-test $(RUNTIME)

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

install: build
	install -D -m 0755 target/x86_64-unknown-linux-gnu/release/runr $(DESTDIR)$(PREFIX)/bin/runr

clean:
	$(CARGO) clean
	rm -rf build
