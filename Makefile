# One list of commands for people and CI. `make test` is what .ci/run calls.
CORPUS ?= $(firstword $(wildcard ../shared/corpus/porcupine /work/shared/corpus/porcupine))
LAB := target/release/lab

FUZZ_CASES ?= 100000

.PHONY: all build run claims test fuzz soak limits check-corpus bench bench-checker bench-sim bench-engines bench-lsm calibrate lint fmt clean

all: build

build:
	cargo build --release

# The main job: every standard experiment (experiments/*.toml), every system and seed, checked,
# one comparison table per experiment on stdout; then a short run of the engines on the real
# disk (the evidence of claim 1; its full table goes to results/engines/); then the claims
# ledger (results/claims.md, and its table in README.md). Everything else lands under results/. `lab claims` exits 1 when
# some claim lacks its results (it says which command produces them): the ledger is still
# printed, so that is not an error here.
EXPERIMENTS ?= $(sort $(wildcard experiments/*.toml))
ENGINE_SECONDS ?= 0.5
run: build
	$(LAB) run $(EXPERIMENTS)
	@echo "== engines on the real disk ($(ENGINE_SECONDS) s per cell; full table: results/engines/table.md) =="
	@mkdir -p results
	-@$(LAB) bench engines --seconds $(ENGINE_SECONDS) 2> results/engines.log | grep -E '^(met|NOT met):' \
		|| { echo "lab bench engines failed (claim 1 stays not measured):"; tail -n 3 results/engines.log; }
	$(LAB) claims --readme README.md || [ $$? -eq 1 ]

# The ledger again from results already under results/ (no experiment is run).
claims: build
	$(LAB) claims || [ $$? -eq 1 ]

test:
	cargo test --workspace --release

# The fuzz targets (tests/fuzz.rs: history importers, experiment files, wire frames and peer
# messages, the claims loader) with many cases each; `make test` runs them with 1,000.
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) cargo test --release --test integration -- fuzz::

# The random nemesis over many seeds per system (SOAK_SEEDS, default 1,000), run in SOAK_SHARDS
# deterministic shares one after the other, then merged: the table, then every failed run and
# every unknown verdict by system and seed. Exit status 1 when a run failed (or a seed is
# missing). Results in results/soak/.
SOAK_SEEDS ?= 1000
SOAK_SHARDS ?= 10
SOAK_EXPERIMENT ?= experiments/random-nemesis.toml
soak: build
	rm -rf results/soak
	for i in $$(seq 1 $(SOAK_SHARDS)); do \
		$(LAB) run --quiet --seeds $(SOAK_SEEDS) --shard $$i/$(SOAK_SHARDS) --out results/soak/shards $(SOAK_EXPERIMENT) > /dev/null || true; \
	done
	$(LAB) merge --out results/soak results/soak/shards/*/shard-*

# The limits that are too slow for `make test` (tests/limits.rs, ignored there): the most
# clients per host the lab accepts complete a run.
limits:
	cargo test --release --test integration -- --ignored limits::

# The checker against every verdict of the corpus (also part of `make test`).
check-corpus: build
	$(LAB) corpus $(CORPUS)

# Checker performance on the corpus: median of 5 runs per file, peak memory; first on one
# thread (the baseline), then on every core. Porcupine (Go) on this machine kind, from the
# corpus README: etcd 400-490 ms in total, slowest etcd_002 150-175 ms, c50-ok ~112 ms, ~31 MB.
bench-checker: build
	@echo "== baseline: one worker thread =="
	$(LAB) corpus $(CORPUS) --repeat 5 --jobs 1
	@echo "== all cores =="
	$(LAB) corpus $(CORPUS) --repeat 5
	@echo "== list-append transaction checker, 100,000 transactions (goals: < 10 s, < 1 GiB; lab check under 2x its input + memory limit) =="
	$(LAB) bench txn-checker --txns 100000
	@echo "== linearizability checker, one register, 1,000,000 operations, 1 and 10 clients (goals: < 10 s, < 1 GiB; lab check under 2x its input + memo limit) =="
	$(LAB) bench register-checker --ops 1000000 --clients 10

# Simulation speed: the SQLite store (2 client hosts x 50 clients) in simulated operations per
# wall second, beside turmoil's raw echo-RPC rate measured in the same run (medians of 5).
bench-sim: build
	$(LAB) bench-sim

# The storage engines on this machine's real disk: the commit-log engine (lsm on the real file
# system) and SQLite (default VFS) per durability setting, beside the disk's raw fsync rate and
# append bandwidth measured in the same run; table in results/engines/.
bench-engines: build
	$(LAB) bench engines

# Does the simulation charge each engine its own cost? SQLite (WAL, synchronous=FULL) and the
# commit log with a sync per commit, on this disk and simulated on the `measured` disk profile
# (experiments/disks/measured.toml; rewrite it with `lab bench engines --write-profile`): both
# per-commit ratios, and whether they agree within 1.5x (exit status 1 when not). Then what a
# message costs the CPU (node step per frame, loopback TCP write): the send-cost defaults.
calibrate: build
	$(LAB) bench calibration
	$(LAB) bench messages

# The commit log alone on the real file system (append, buffered append, sync per write, batched).
bench-lsm:
	cargo bench -p lsm --bench commit_log

# Every benchmark.
bench: bench-checker bench-sim bench-engines bench-lsm

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
