#!/usr/bin/env bash
# Builds the release tools once per version from the Go module proxy, or
# reuses them from the per-version cache (the same layout as the test
# cluster's binaries, hack/testcluster/build.sh):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor/bin/<tool>-<version>/<tool>
#
#   hack/tools.sh [goreleaser|krew|validate-krew-manifest]...  (default: all)
#   hack/tools.sh --path TOOL     prints the cached binary's path (no build)
#
# Each tool is built with `go install MODULE/CMD@VERSION`, so its own go.mod
# (with its exact dependency versions) is the main module and nothing is
# added to ours. GOTOOLCHAIN=local: never fetch another Go; goreleaser
# v2.15.1 needs go >= 1.26.1, newer goreleasers need a newer Go than this
# project's machines have.
# Env: FILTERDOCTOR_CACHE_DIR moves the cache; FILTERDOCTOR_BUILD_PARALLEL
# sets `go build -p` (default 2).
set -euo pipefail

GORELEASER_VERSION="${FILTERDOCTOR_GORELEASER_VERSION:-v2.15.1}"
KREW_VERSION="${FILTERDOCTOR_KREW_VERSION:-v0.4.3}"

FD_CACHE_DIR="${FILTERDOCTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor}"
FD_BIN_DIR="$FD_CACHE_DIR/bin"
PARALLEL="${FILTERDOCTOR_BUILD_PARALLEL:-2}"

log() { printf '%s [tools] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# tool_path TOOL: where the cached binary of TOOL's pinned version lives.
tool_path() {
	case "$1" in
	goreleaser) echo "$FD_BIN_DIR/goreleaser-$GORELEASER_VERSION/goreleaser" ;;
	krew) echo "$FD_BIN_DIR/krew-$KREW_VERSION/krew" ;;
	validate-krew-manifest) echo "$FD_BIN_DIR/krew-$KREW_VERSION/validate-krew-manifest" ;;
	*) die "unknown tool $1 (want goreleaser, krew or validate-krew-manifest)" ;;
	esac
}

if [[ "${1:-}" == "--path" ]]; then
	[[ $# -eq 2 ]] || die "usage: hack/tools.sh --path TOOL"
	tool_path "$2"
	exit 0
fi

command -v go >/dev/null || die "go is not on PATH"
export GOWORK=off GOFLAGS="-buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local

SCRATCH=""
cleanup() { if [[ -n "$SCRATCH" ]]; then rm -rf "$SCRATCH"; fi; }
trap cleanup EXIT

# build TOOL PACKAGE@VERSION LDFLAGS: go install into a scratch GOBIN, then
# rename into the cache so a concurrent reader never sees half a binary.
build() {
	local tool="$1" pkg="$2" ldflags="$3" dest
	dest="$(tool_path "$tool")"
	if [[ -x "$dest" ]]; then
		log "$tool: cached at $dest"
		return
	fi
	local start=$SECONDS
	log "$tool: building $pkg (first run only)"
	GOBIN="$SCRATCH/$tool" go install -p "$PARALLEL" -trimpath -ldflags "$ldflags" "$pkg"
	mkdir -p "$(dirname "$dest")"
	# go install names the binary after the last path element that is not a
	# major-version suffix (goreleaser/v2 -> goreleaser): the tool's name.
	cp "$SCRATCH/$tool/$tool" "$dest.tmp.$$"
	chmod 0755 "$dest.tmp.$$"
	mv -f "$dest.tmp.$$" "$dest"
	log "$tool: built in $((SECONDS - start))s -> $dest"
}

tools=("$@")
if ((${#tools[@]} == 0)); then tools=(goreleaser krew validate-krew-manifest); fi

mkdir -p "$FD_BIN_DIR"
# CI and a developer (or two test binaries) may call this at once: one
# builds, the other waits and then finds the cached binary.
exec 9>"$FD_BIN_DIR/.tools.lock"
if ! flock -n 9; then
	log "another tools.sh holds $FD_BIN_DIR/.tools.lock; waiting"
	flock 9
fi
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/filterdoctor-tools.XXXXXX")"

for t in "${tools[@]}"; do
	case "$t" in
	# goreleaser's main.go reads main.version (and commit, date, builtBy),
	# which its own release sets through ldflags.
	goreleaser)
		build goreleaser "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" \
			"-s -w -X main.version=$GORELEASER_VERSION -X main.builtBy=filterdoctor-hack-tools"
		;;
	# krew's internal/version.gitTag is what its Makefile/goreleaser set.
	krew | validate-krew-manifest)
		build "$t" "sigs.k8s.io/krew/cmd/$t@$KREW_VERSION" \
			"-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION"
		;;
	*) die "unknown tool $t (want goreleaser, krew or validate-krew-manifest)" ;;
	esac
done
