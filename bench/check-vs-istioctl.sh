#!/usr/bin/env bash
# Performance bar for the offline `check` (issue 2): on a generated mesh of
# 200 and of 800 apps, `kubectl-filterdoctor check -A -f FILE` must take at
# most half the wall time of `istioctl analyze --use-kube=false -A FILE` on
# the same file, use no more peak memory, and grow linearly (800/200 time
# ratio at most 4, 10% slack for noise); `kubectl-filterdoctor version` must
# start in at most 20 ms.
#
# Each app (bench/genmesh): a Deployment with the wasm userVolume/
# userVolumeMount annotations on its pod template, a Service, a ConfigMap
# with a 3.3 KB proxy-wasm module (bench/genmesh/filter.wat) in binaryData,
# a Lua and a Wasm EnvoyFilter, all correct, spread over 10 namespaces in one
# multi-document YAML file per size. filterdoctor must report nothing on it.
#
# Wall time: the median of hyperfine runs (--warmup 1 --runs RUNS, no shell).
# Peak RSS: the largest "Maximum resident set size" of /usr/bin/time -v over
# 3 runs. kubectl-filterdoctor is built as `make build` does (-trimpath
# -ldflags '-s -w'); istioctl is built once per version with `go install
# -trimpath -ldflags=-s` and cached in
# ${XDG_CACHE_HOME:-~/.cache}/filterdoctor/bin/istioctl-VERSION/ (the first
# build takes ~15-30 min on 2 cores).
#
# Needs: go, wat2wasm (Debian wabt), hyperfine, /usr/bin/time (Debian time).
#   bench/check-vs-istioctl.sh [RUNS]      default 5
# Environment:
#   ISTIO_VERSION   istio.io/istio module version (default below: master of
#                   2026-08-27, the 1.31 development line; the proxy serves no
#                   version for Istio's un-prefixed release tags)
#   ISTIOCTL        use this istioctl binary instead of building one
#   FD_ISTIO        --istio-version given to filterdoctor (default 1.24)
#   BENCH_OUT       where the meshes and hyperfine exports go
#                   (default /tmp/filterdoctor-bench-check)
# Exit: 0 every bar met, 1 a bar missed, 2 could not measure.
set -euo pipefail

runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-/tmp/filterdoctor-bench-check}
istio_version=${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}
fd_istio=${FD_ISTIO:-1.24}
sizes=(200 800)
mkdir -p "$out"

for tool in go wat2wasm hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wabt hyperfine time)" >&2; exit 2; }
done

# --- istioctl, cached by version -------------------------------------------
cache=${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor/bin
istioctl_why=""
if [ -n "${ISTIOCTL:-}" ]; then
	istioctl=$ISTIOCTL
else
	istioctl=$cache/istioctl-$istio_version/istioctl
	if [ ! -x "$istioctl" ]; then
		log=$cache/istioctl-$istio_version.log
		mkdir -p "$cache"
		echo "building istioctl $istio_version (once; log: $log)..." >&2
		tmpbin=$(mktemp -d "$cache/.istioctl-build.XXXXXX")
		# Outside our module, niced: the build is large and the machine shared.
		if (cd "$tmpbin" && GOBIN=$tmpbin GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
			nice -n 19 go install -trimpath -ldflags=-s istio.io/istio/istioctl/cmd/istioctl@"$istio_version") >"$log" 2>&1; then
			mkdir -p "$(dirname "$istioctl")"
			mv "$tmpbin/istioctl" "$istioctl"
		else
			istioctl_why="go install istio.io/istio/istioctl/cmd/istioctl@$istio_version failed: $(tail -5 "$log" || true)"
		fi
		rm -rf "$tmpbin"
	fi
fi
if [ -z "$istioctl_why" ] && ! "$istioctl" version --remote=false >/dev/null 2>&1; then
	istioctl_why="$istioctl does not run: $("$istioctl" version --remote=false 2>&1 | tail -3 || true)"
fi

# --- filterdoctor, the module, the meshes ------------------------------------
echo "building kubectl-filterdoctor, the wasm module and the meshes..." >&2
fd=$out/kubectl-filterdoctor
# As `make build` ships them (trimmed, no symbol table or DWARF): `check` is
# handed by kubectl-filterdoctor to filterdoctor-engine beside it, so the
# figures include that hand-off.
(cd "$root" && go build -trimpath -ldflags '-s -w' -o "$fd" ./cmd/filterdoctor &&
	go build -trimpath -ldflags '-s -w' -o "$out/filterdoctor-engine" ./cmd/filterdoctor-engine)
(cd "$root" && go build -o "$out/genmesh" ./bench/genmesh)
wat2wasm --debug-names "$root/bench/genmesh/filter.wat" -o "$out/mesh-filter.wasm"
for n in "${sizes[@]}"; do
	"$out/genmesh" -apps "$n" -namespaces 10 -wasm "$out/mesh-filter.wasm" -o "$out/mesh-$n.yaml"
done

fd_cmd() { echo "$fd check -A -f $out/mesh-$1.yaml --istio-version $fd_istio"; }
is_cmd() { echo "$istioctl analyze --use-kube=false -A $out/mesh-$1.yaml"; }

# The mesh is correct: any finding is a bug in the mesh or in filterdoctor.
for n in "${sizes[@]}"; do
	if ! $(fd_cmd "$n") --fail-on info >"$out/check-$n.txt" 2>&1; then
		echo "filterdoctor reports findings on the correct $n-app mesh (or failed):" >&2
		head -40 "$out/check-$n.txt" >&2
		exit 2
	fi
done

# What istioctl says about the same file, for the record; it may exit
# non-zero for its own messages, which does not make the run invalid.
ignore=()
if [ -z "$istioctl_why" ]; then
	for n in "${sizes[@]}"; do
		rc=0
		$(is_cmd "$n") >"$out/analyze-$n.txt" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ]; then
			grep -q '^\(Error\|Warning\|Info\) \[IST' "$out/analyze-$n.txt" || {
				istioctl_why="istioctl analyze failed (exit $rc): $(tail -3 "$out/analyze-$n.txt" || true)"
				break
			}
			ignore=(--ignore-failure)
		fi
	done
fi

# --- measure -----------------------------------------------------------------
# peak_rss CMD...: the largest max RSS (KiB) over 3 runs.
peak_rss() {
	local max=0 kib
	for _ in 1 2 3; do
		/usr/bin/time -v -o "$out/time.txt" "$@" >/dev/null 2>&1 || true
		kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
		[ "$kib" -gt "$max" ] && max=$kib
	done
	echo "$max"
}
# median_of CSV NAME: hyperfine's median (s) for the command named NAME;
# cpu_of: its mean user+system CPU time (s), steadier on a busy machine.
median_of() { awk -F, -v n="$2" '$1 == n {print $4}' "$1"; }
cpu_of() { awk -F, -v n="$2" '$1 == n {print $5 + $6}' "$1"; }

declare -A wall cpu rss
for n in "${sizes[@]}"; do
	echo "== $n apps ($(du -h "$out/mesh-$n.yaml" | cut -f1)), load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	cmds=(-n "filterdoctor-$n" "$(fd_cmd "$n")")
	[ -z "$istioctl_why" ] && cmds+=(-n "istioctl-$n" "$(is_cmd "$n")")
	hyperfine -N --warmup 1 --runs "$runs" "${ignore[@]}" --style basic \
		--export-markdown "$out/check-$n.md" --export-csv "$out/check-$n.csv" "${cmds[@]}" >&2
	wall[fd-$n]=$(median_of "$out/check-$n.csv" "filterdoctor-$n")
	cpu[fd-$n]=$(cpu_of "$out/check-$n.csv" "filterdoctor-$n")
	rss[fd-$n]=$(peak_rss $(fd_cmd "$n"))
	if [ -z "$istioctl_why" ]; then
		wall[is-$n]=$(median_of "$out/check-$n.csv" "istioctl-$n")
		cpu[is-$n]=$(cpu_of "$out/check-$n.csv" "istioctl-$n")
		rss[is-$n]=$(peak_rss $(is_cmd "$n"))
	fi
done
echo "== start-up" >&2
hyperfine -N --warmup 3 --runs 30 --style basic -n version \
	--export-markdown "$out/version.md" --export-csv "$out/version.csv" "$fd version" >&2
startup=$(median_of "$out/version.csv" version)
startup_cpu=$(cpu_of "$out/version.csv" version)

# --- report ------------------------------------------------------------------
ms() { awk -v s="$1" 'BEGIN {printf "%.0f ms", s*1000}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k/1024}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
failed=0
# bar TEXT DETAIL A B: prints whether A <= B and remembers a miss.
bar() {
	local v=met
	le "$3" "$4" || { v="NOT met"; failed=1; }
	echo "bar $1: $v${2:+ ($2)}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
fd_ratio=$(ratio "${wall[fd-800]}" "${wall[fd-200]}")

echo
echo "istioctl: ${istioctl_why:+not measured: }${istioctl_why:-$istio_version ($istioctl)}"
echo "filterdoctor: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown) --istio-version $fd_istio; $runs runs after 1 warm-up; $(nproc) cores; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${sizes[@]}"; do
	echo "mesh-$n.yaml: $(grep -c '^kind: ' "$out/mesh-$n.yaml") objects, $(stat -c %s "$out/mesh-$n.yaml") bytes; filterdoctor: $(tail -1 "$out/check-$n.txt")"
done
echo
echo "| apps | tool | median wall | CPU user+sys | peak RSS |"
echo "|---:|---|---:|---:|---:|"
for n in "${sizes[@]}"; do
	echo "| $n | kubectl-filterdoctor check | $(ms "${wall[fd-$n]}") | $(ms "${cpu[fd-$n]}") | $(mib "${rss[fd-$n]}") |"
	[ -z "$istioctl_why" ] && echo "| $n | istioctl analyze | $(ms "${wall[is-$n]}") | $(ms "${cpu[is-$n]}") | $(mib "${rss[is-$n]}") |"
done
echo "| - | kubectl-filterdoctor version | $(ms "$startup") | $(ms "$startup_cpu") | |"
echo
if [ -z "$istioctl_why" ]; then
	for n in "${sizes[@]}"; do
		half=$(awk -v t="${wall[is-$n]}" 'BEGIN {print t/2}')
		bar "$n apps, time <= 1/2 istioctl ($(ms "$half"))" "$(ratio "${wall[fd-$n]}" "${wall[is-$n]}")x istioctl" "${wall[fd-$n]}" "$half"
		bar "$n apps, peak RSS <= istioctl" "$(ratio "${rss[fd-$n]}" "${rss[is-$n]}")x istioctl" "${rss[fd-$n]}" "${rss[is-$n]}"
	done
	echo "(istioctl 800/200 time ratio: $(ratio "${wall[is-800]}" "${wall[is-200]}"))"
fi
bar "linear growth, 800/200 time ratio <= 4.4" "$fd_ratio" "$fd_ratio" 4.4
bar "start-up <= 20 ms" "$(ms "$startup")" "$startup" 0.020
echo
echo "commands:"
for n in "${sizes[@]}"; do
	echo "  $(fd_cmd "$n")"
	[ -z "$istioctl_why" ] && echo "  $(is_cmd "$n")"
done
echo "  $fd version"
echo "wall: hyperfine -N --warmup 1 --runs $runs${ignore[*]:+ ${ignore[*]}} (check), --warmup 3 --runs 30 (version); peak RSS: /usr/bin/time -v, max of 3"
echo "exports: $out/check-{200,800}.md, $out/version.md"
[ -z "$istioctl_why" ] || exit 2
exit "$failed"
