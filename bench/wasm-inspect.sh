#!/usr/bin/env bash
# Performance bar for `wasm inspect` (issue 4): on a ~5 MB Go module that uses
# net/http, `kubectl-filterdoctor wasm inspect -o json` must take no longer
# than `wasm-objdump -j Import -j Export -x` (wabt) on the same file, and its
# peak memory must stay under 3x the file size. Both run side by side here,
# RUNS times each; wall time is the median, memory the largest peak RSS
# (/usr/bin/time -v "Maximum resident set size").
#
# Needs: go, wasm-objdump (Debian package wabt), /usr/bin/time (package time).
# Usage: bench/wasm-inspect.sh [RUNS]   (default 7)
set -euo pipefail

runs=${1:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in go wasm-objdump /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wabt time)" >&2; exit 2; }
done

echo "building the module and the tools..." >&2
(cd "$root/bench/wasm-inspect-module" &&
	GOWORK=off GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm \
		go build -trimpath -buildvcs=false -ldflags=-buildid= -buildmode=c-shared -o "$work/module.wasm" .)
(cd "$root" && go build -o "$work/kubectl-filterdoctor" ./cmd/filterdoctor)
(cd "$root" && go build -o "$work/wasminspect-driver" ./bench/wasminspect-driver)

module=$work/module.wasm
size=$(stat -c %s "$module")

# measure KEY LABEL CMD...: runs CMD $runs times; prints the median wall
# time and the largest peak RSS, and keeps them in ${KEY}_wall / ${KEY}_rss.
measure() {
	local key=$1 name=$2; shift 2
	local times=() rss=0
	for _ in $(seq "$runs"); do
		/usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
			local rc=$?
			# exit 1 means findings, which is a successful run here
			[ "$rc" -eq 1 ] || { echo "$name failed ($rc):" >&2; cat "$work/stderr.txt" >&2; exit 2; }
		}
		local wall kib
		wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt" |
			awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
		kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
		times+=("$wall")
		[ "$kib" -gt "$rss" ] && rss=$kib
	done
	local median
	median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%-48s %8.3f s %10d KiB  (%.2fx file size)\n' "$name" "$median" "$rss" "$(echo "$rss*1024/$size" | bc -l)"
	printf -v "${key}_wall" '%s' "$median"
	printf -v "${key}_rss" '%s' "$rss"
}

echo "module: $size bytes ($(echo "scale=2; $size/1048576" | bc) MiB), $runs runs each"
echo "command                                          median wall   peak RSS"
measure objdump "wasm-objdump -j Import -j Export -x" wasm-objdump -j Import -j Export -x "$module"
measure inspect "kubectl-filterdoctor wasm inspect -o json" "$work/kubectl-filterdoctor" wasm inspect "$module" -o json
measure startup "kubectl-filterdoctor version (start-up only)" "$work/kubectl-filterdoctor" version
measure driver "wasminspect-driver (inspector alone)" "$work/wasminspect-driver" "$module"

# What the inspection itself costs on top of the binary's start-up.
extra=$(( inspect_rss - startup_rss ))
printf 'inspection on top of start-up: %d KiB (%.2fx file size)\n' "$extra" "$(echo "$extra*1024/$size" | bc -l)"
echo
verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }
limit=$((3 * size / 1024))
echo "bar: time <= wasm-objdump: kubectl-filterdoctor $(verdict "$(echo "$inspect_wall <= $objdump_wall" | bc)"), inspector alone $(verdict "$(echo "$driver_wall <= $objdump_wall" | bc)")"
echo "bar: peak RSS < 3x file size ($limit KiB): kubectl-filterdoctor $(verdict "$(echo "$inspect_rss < $limit" | bc)"), inspector alone $(verdict "$(echo "$driver_rss < $limit" | bc)")"
