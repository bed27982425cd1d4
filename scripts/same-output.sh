#!/usr/bin/env bash
# Shows that a refactor changed no result: runs every standard experiment with the lab built
# from BASE (default: the commit before the crate split, 790af79) and with the working tree,
# then compares, byte for byte, what `make run` prints (wall times masked) and every table
# (results/*/table.{md,csv,json}, summary.md but the scaling wall times), and judges the
# ledger on each with the same engines table (the engines run on the real disk, so it is not
# seeded): claims.json and claims.md must be identical. Exit 0 when everything matches.
#
#   scripts/same-output.sh [BASE] [EXPERIMENT_FILES...]
#
# BASE_LAB=/path/to/lab skips building BASE (that binary must be built from BASE).
# Takes a few minutes per side (the standard experiments, on every core).
set -euo pipefail
base=${1:-790af79}
shift || true
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/same-output.XXXXXX")
trap 'git -C "$root" worktree remove --force "$work/base-tree" >/dev/null 2>&1 || true' EXIT
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=()
    for f in "$root"/experiments/*.toml; do files+=("experiments/$(basename "$f")"); done
fi

git -C "$root" worktree add --detach "$work/base-tree" "$base" >/dev/null
echo "building $base and the working tree..." >&2
base_lab=${BASE_LAB:-"$work/base-target/release/lab"}
if [ -z "${BASE_LAB:-}" ]; then
    (cd "$work/base-tree" && CARGO_TARGET_DIR="$work/base-target" cargo build --release --quiet)
fi
(cd "$root" && cargo build --release --quiet)
new_lab="$root/target/release/lab"

run_side() { # side lab tree
    local side=$1 lab=$2 tree=$3
    mkdir -p "$work/$side"
    # Each side reads its own version of the experiment files (their language may differ).
    (cd "$tree" && "$lab" run "${files[@]}" --out "$work/$side/results" --quiet) \
        | sed -E "s/[0-9.]+ s of wall time/N s of wall time/; s/^wall time [0-9.]+ s/wall time N s/; s|$work/$side/results|RESULTS|g" \
        > "$work/$side/stdout"
}
echo "running the experiments on $base..." >&2
run_side base "$base_lab" "$work/base-tree"
echo "running the experiments on the working tree..." >&2
run_side new "$new_lab" "$root"

status=0
if ! diff -u "$work/base/stdout" "$work/new/stdout"; then status=1; fi
for dir in "$work"/base/results/*/; do
    name=$(basename "$dir")
    for f in table.md table.csv table.json summary.md points.csv; do
        [ -f "$dir/$f" ] || continue
        if [ "$name" = scaling ] && [ "$f" = summary.md ]; then continue; fi
        if ! cmp -s "$dir/$f" "$work/new/results/$name/$f"; then
            echo "differs: $name/$f"
            diff -u "$dir/$f" "$work/new/results/$name/$f" | head -20
            status=1
        fi
    done
done
# The ledger, judged by each side on its own results with one shared engines table.
engines="$root/results/engines"
if [ -d "$engines" ]; then
    cp -r "$engines" "$work/base/results/engines"
    cp -r "$engines" "$work/new/results/engines"
fi
"$base_lab" claims --results "$work/base/results" --out "$work/base/ledger" >/dev/null || true
"$new_lab" claims --results "$work/new/results" --out "$work/new/ledger" >/dev/null || true
sed -i "s|$work/base/results|RESULTS|g" "$work/base/ledger/claims.md" "$work/base/ledger/claims.json"
sed -i "s|$work/new/results|RESULTS|g" "$work/new/ledger/claims.md" "$work/new/ledger/claims.json"
for f in claims.json claims.md; do
    if ! cmp -s "$work/base/ledger/$f" "$work/new/ledger/$f"; then
        echo "differs: $f"
        diff -u "$work/base/ledger/$f" "$work/new/ledger/$f" | head -40
        status=1
    fi
done
if [ $status -eq 0 ]; then
    echo "same output: ${#files[@]} experiment files, every table, claims.json and claims.md (results in $work)"
else
    echo "DIFFERENT (results in $work)"
fi
exit $status
