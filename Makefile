# One list of commands for people and CI. `make test` is what .ci/run calls.
CORPUS ?= $(firstword $(wildcard ../shared/corpus/porcupine /work/shared/corpus/porcupine))
LAB := target/release/lab

.PHONY: all build run test check-corpus bench-checker lint fmt clean

all: build

build:
	cargo build --release

# The main job. Until the experiments exist: the checker over the bundled Jepsen corpus.
run: build
	$(LAB) corpus $(CORPUS) --verbose

test:
	cargo test --workspace --release

# The checker against every verdict of the corpus (also part of `make test`).
check-corpus: build
	$(LAB) corpus $(CORPUS)

# Checker performance on the corpus: median of 5 runs per file, peak memory.
bench-checker: build
	$(LAB) corpus $(CORPUS) --repeat 5

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
