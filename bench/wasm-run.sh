#!/usr/bin/env bash
# Times `kubectl filterdoctor wasm run` of the reference header-wasm module on
# one request. The bar (issue 5): under 1 s cold, under 200 ms with wazero's
# compilation cache.
#   cold:            empty cache; --engine auto interprets the module
#   cached:          cache filled by an --engine compiler run; auto compiles from it
#   compiler, cold:  --engine compiler with an empty cache (what the cache saves)
# Wall time depends on what else the machine runs; user+sys CPU is printed too.
#
#   bench/wasm-run.sh [RUNS]        # default 5 runs of each
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# As `make build` ships them: kubectl-filterdoctor hands `wasm run` to
# filterdoctor-engine beside it.
go build -trimpath -ldflags '-s -w' -o "$work/kubectl-filterdoctor" ./cmd/filterdoctor
go build -trimpath -ldflags '-s -w' -o "$work/filterdoctor-engine" ./cmd/filterdoctor-engine
make -s filters >/dev/null
module=filters/header-wasm/build/plugin.wasm
args=(wasm run "$module" --istio-version 1.25 --request-header x-user=alice -o json)

# time_run CACHE_HOME [ARGS...]: one run, prints "wall_ms cpu_ms".
time_run() {
	local cache=$1; shift
	local t
	t=$( { /usr/bin/time -f '%e %U %S' env XDG_CACHE_HOME="$cache" "$work/kubectl-filterdoctor" "${args[@]}" "$@" >/dev/null; } 2>&1 | tail -1)
	awk '{printf "%d %d\n", $1*1000, ($2+$3)*1000}' <<<"$t"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report() { # label, then "wall cpu" lines on stdin
	local lines wall cpu
	lines=$(cat)
	wall=$(awk '{print $1}' <<<"$lines" | median)
	cpu=$(awk '{print $2}' <<<"$lines" | median)
	printf '%-16s median wall %5s ms, cpu %5s ms  [wall: %s]\n' "$1" "$wall" "$cpu" "$(awk '{print $1}' <<<"$lines" | tr '\n' ' ')"
}

cold="" cached="" compiler=""
for i in $(seq "$runs"); do
	cache="$work/cache-$i"
	cold+="$(time_run "$cache")"$'\n'
	compiler+="$(time_run "$cache" --engine compiler)"$'\n'
	cached+="$(time_run "$cache")"$'\n'
done
printf 'module: %s (%s bytes), %d runs each, %s CPUs, load %s\n' "$module" "$(wc -c <"$module")" "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
report "cold" <<<"${cold%$'\n'}"
report "cached" <<<"${cached%$'\n'}"
report "compiler, cold" <<<"${compiler%$'\n'}"
