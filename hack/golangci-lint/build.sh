#!/usr/bin/env bash
# Builds golangci-lint once per version from the Go module proxy, or reuses it
# from the per-version cache, as hack/testcluster/build.sh does for
# kube-apiserver. Prints the binary's path on stdout.
#
#   hack/golangci-lint/build.sh
#
# Installed atomically into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor/bin/golangci-lint-<version>/
# Env: FILTERDOCTOR_CACHE_DIR moves the cache; FILTERDOCTOR_GOLANGCI_LINT_VERSION
# picks another version; FILTERDOCTOR_BUILD_PARALLEL sets `go build -p`
# (default 2: CI and dev machines here have 2 shared cores).
set -euo pipefail

VERSION="${FILTERDOCTOR_GOLANGCI_LINT_VERSION:-v2.15.0}"
FD_CACHE_DIR="${FILTERDOCTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor}"
FD_BIN_DIR="$FD_CACHE_DIR/bin"
BIN="$FD_BIN_DIR/golangci-lint-$VERSION/golangci-lint"
PARALLEL="${FILTERDOCTOR_BUILD_PARALLEL:-2}"

log() { printf '%s [golangci-lint] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

# Outside any module: no go.work, vendor dir or GOFLAGS of the caller, and
# never another toolchain (a fresh machine may reach only the module proxy).
export GOWORK=off GOFLAGS="-buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local

mkdir -p "$FD_BIN_DIR"
# Two callers at once: one builds, the other waits and finds the binary.
exec 9>"$FD_BIN_DIR/.golangci-lint.lock"
if ! flock -n 9; then
	log "another build holds $FD_BIN_DIR/.golangci-lint.lock; waiting"
	flock 9
fi
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/filterdoctor-golangci-lint.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
start=$SECONDS
log "$VERSION: building from github.com/golangci/golangci-lint/v2 (first run only; minutes)"
(cd "$SCRATCH" && GOBIN="$SCRATCH/bin" go install -p "$PARALLEL" -trimpath -ldflags "-s -w" \
	"github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$VERSION")
mkdir -p "$(dirname "$BIN")"
cp "$SCRATCH/bin/golangci-lint" "$BIN.tmp.$$"
chmod 0755 "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
log "$VERSION: built in $((SECONDS - start))s -> $BIN"
echo "$BIN"
