#!/usr/bin/env bash
# Performance bar for `wasm inspect` (issue 4): on a ~5 MB Go module that uses
# net/http, `kubectl-filterdoctor wasm inspect -o json` must take no longer
# than `wasm-objdump -j Import -j Export -x` (wabt) on the same file, and its
# peak memory must stay under 3x the file size. Both run side by side here:
# wall time is hyperfine's median (-N, 3 warm-ups, RUNS runs each, the two
# commands interleaved in one invocation), memory the largest peak RSS of
# five /usr/bin/time -v runs ("Maximum resident set size").
#
# kubectl-filterdoctor and filterdoctor-engine are built as `make build`
# ships them; `wasm inspect FILE` runs in kubectl-filterdoctor itself.
#
# Needs: go, wasm-objdump (Debian wabt), hyperfine, /usr/bin/time (Debian time).
# Usage: bench/wasm-inspect.sh [RUNS]   (default 30)
set -euo pipefail

runs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in go wasm-objdump hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wabt hyperfine time)" >&2; exit 2; }
done

echo "building the module and the tools..." >&2
(cd "$root/bench/wasm-inspect-module" &&
	GOWORK=off GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm \
		go build -trimpath -buildvcs=false -ldflags=-buildid= -buildmode=c-shared -o "$work/module.wasm" .)
(cd "$root" && go build -trimpath -ldflags '-s -w' -o "$work/kubectl-filterdoctor" ./cmd/filterdoctor &&
	go build -trimpath -ldflags '-s -w' -o "$work/filterdoctor-engine" ./cmd/filterdoctor-engine)

module=$work/module.wasm
size=$(stat -c %s "$module")
fd=$work/kubectl-filterdoctor
objdump_cmd="wasm-objdump -j Import -j Export -x $module"
inspect_cmd="$fd wasm inspect $module -o json"
# The module is clean for Istio's newest release; a finding would make the
# JSON (and the work) differ from what the bar is about.
"$fd" wasm inspect "$module" -o json >/dev/null

# peak_rss CMD...: the largest max RSS (KiB) over 5 runs.
peak_rss() {
	local max=0 kib
	for _ in 1 2 3 4 5; do
		/usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
		kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
		[ "$kib" -gt "$max" ] && max=$kib
	done
	echo "$max"
}

echo "module: $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.2f", s/1048576}') MiB); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 3 --runs "$runs" --style basic --export-csv "$work/wall.csv" \
	-n wasm-objdump "$objdump_cmd" -n wasm-inspect "$inspect_cmd" -n version "$fd version"
median_of() { awk -F, -v n="$1" '$1 == n {print $4}' "$work/wall.csv"; }
objdump_wall=$(median_of wasm-objdump)
inspect_wall=$(median_of wasm-inspect)
startup_wall=$(median_of version)
# shellcheck disable=SC2086 # the commands are word lists
objdump_rss=$(peak_rss $objdump_cmd)
# shellcheck disable=SC2086
inspect_rss=$(peak_rss $inspect_cmd)

ms() { awk -v s="$1" 'BEGIN {printf "%.1f ms", s*1000}'; }
times_file() { awk -v k="$1" -v s="$size" 'BEGIN {printf "%.2fx", k*1024/s}'; }
echo
echo "| command | median wall | peak RSS |"
echo "|---|---:|---:|"
echo "| wasm-objdump -j Import -j Export -x | $(ms "$objdump_wall") | $objdump_rss KiB ($(times_file "$objdump_rss") file) |"
echo "| kubectl-filterdoctor wasm inspect -o json | $(ms "$inspect_wall") | $inspect_rss KiB ($(times_file "$inspect_rss") file) |"
echo "| kubectl-filterdoctor version (start-up) | $(ms "$startup_wall") | |"
echo
failed=0
verdict() { if awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; then echo met; else echo "NOT met"; failed=1; fi; }
limit=$((3 * size / 1024))
echo "bar: time <= wasm-objdump: $(verdict "$inspect_wall" "$objdump_wall")"
echo "bar: peak RSS < 3x file size ($limit KiB): $(verdict "$inspect_rss" "$((limit - 1))")"
exit "$failed"
