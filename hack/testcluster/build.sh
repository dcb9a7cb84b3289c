#!/usr/bin/env bash
# Builds etcd and kube-apiserver for the test cluster, or reuses them from the
# per-version cache, so only the first run on a machine pays for the build.
#
#   hack/testcluster/build.sh [etcd|kube-apiserver]...   (default: both)
#
# Each binary is built from the Go module proxy in a throwaway scratch module
# (nothing is added to our go.mod) and installed atomically into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor/bin/<component>-<version>/
# Env: FILTERDOCTOR_CACHE_DIR moves the cache; FILTERDOCTOR_BUILD_PARALLEL sets
# `go build -p` (default 2: CI and dev machines here have 2 shared cores).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v go >/dev/null || die "go is not on PATH"

PARALLEL="${FILTERDOCTOR_BUILD_PARALLEL:-2}"
# A scratch module must not see a go.work, a vendor dir or a GOFLAGS such as
# -mod=vendor from the caller; -mod=mod lets go build write the scratch go.sum.
# CGO is off as in upstream release builds: static binaries, no gcc time.
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
# Never fetch another toolchain: on a fresh machine with no network but the
# module proxy that would fail late and confusingly.
export GOTOOLCHAIN=local

SCRATCH=""
cleanup() { if [[ -n "$SCRATCH" ]]; then rm -rf "$SCRATCH"; fi; }
trap cleanup EXIT

# go build -v prints one import path per compiled package; show a counter
# instead of ~1500 lines, but pass anything else (compiler errors) through.
progress() {
	local name="$1" n=0 line
	while IFS= read -r line; do
		if [[ "$line" =~ ^[A-Za-z0-9._/~+-]+$ ]]; then
			n=$((n + 1))
			if ((n % 100 == 0)); then log "$name: $n packages compiled"; fi
		else
			printf '%s\n' "$line" >&2
		fi
	done
	log "$name: $n packages compiled in total"
}

# install_atomically SRC DEST: a concurrent up.sh must never see a half
# written binary, so rename into place.
install_atomically() {
	local src="$1" dest="$2"
	mkdir -p "$(dirname "$dest")"
	cp "$src" "$dest.tmp.$$"
	chmod 0755 "$dest.tmp.$$"
	mv -f "$dest.tmp.$$" "$dest"
}

build_etcd() {
	if [[ -x "$ETCD_BIN" ]]; then
		log "etcd $ETCD_VERSION: cached at $ETCD_BIN"
		return
	fi
	local start=$SECONDS dir="$SCRATCH/etcd"
	log "etcd $ETCD_VERSION: building from go.etcd.io/etcd/server/v3 (first run only)"
	mkdir -p "$dir"
	# The same three lines as etcd's own server/main.go.
	cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
	cat >"$dir/go.mod" <<MOD
module filterdoctor.local/testcluster/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
	(cd "$dir" && go build -v -p "$PARALLEL" -trimpath -ldflags "-s -w" -o "$dir/etcd" . 2>&1) | progress etcd
	install_atomically "$dir/etcd" "$ETCD_BIN"
	log "etcd $ETCD_VERSION: built in $((SECONDS - start))s -> $ETCD_BIN"
}

build_kube_apiserver() {
	if [[ -x "$KUBE_APISERVER_BIN" ]]; then
		log "kube-apiserver $K8S_VERSION: cached at $KUBE_APISERVER_BIN"
		return
	fi
	local start=$SECONDS dir="$SCRATCH/kube-apiserver"
	local staging_version="v0.${K8S_VERSION#v1.}"
	log "kube-apiserver $K8S_VERSION: building from k8s.io/kubernetes (first run only; minutes)"
	mkdir -p "$dir"
	# k8s.io/kubernetes requires its 31 staging modules at v0.0.0 and replaces
	# them with ./staging dirs; a dependency's replaces are ignored, so we
	# must pin each one to its published v0.x twin. Read the list from the
	# pinned go.mod itself so a version bump cannot leave one out.
	local gomod
	gomod="$(cd "$dir" && GOFLAGS='' go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
	[[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION"
	local replaces
	replaces="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod")"
	[[ -n "$replaces" ]] || die "no staging replaces found in $gomod"
	log "kube-apiserver $K8S_VERSION: pinning $(grep -c . <<<"$replaces") staging modules to $staging_version"
	# go/godebug lines copied from kubernetes' go.mod: they only take effect
	# in the main module, and upstream builds with them.
	cat >"$dir/go.mod" <<MOD
module filterdoctor.local/testcluster/kube-apiserver

go 1.25.0

godebug default=go1.25

require k8s.io/kubernetes $K8S_VERSION

replace (
$replaces
)
MOD
	# Without these the server reports v0.0.0-master+\$Format:%H\$, which
	# confuses version checks in clients and in our own diagnostics.
	local v="$K8S_VERSION" minor
	minor="$(cut -d. -f2 <<<"$v")"
	local ldflags="-s -w"
	local pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	(cd "$dir" && go build -v -p "$PARALLEL" -trimpath -ldflags "$ldflags" \
		-o "$dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver 2>&1) | progress kube-apiserver
	install_atomically "$dir/kube-apiserver" "$KUBE_APISERVER_BIN"
	log "kube-apiserver $K8S_VERSION: built in $((SECONDS - start))s -> $KUBE_APISERVER_BIN"
}

components=("$@")
if ((${#components[@]} == 0)); then components=(etcd kube-apiserver); fi

mkdir -p "$FD_BIN_DIR"
# Two test binaries (or a developer and CI) may call this at once; one builds,
# the other waits and then finds the cached binary.
exec 9>"$FD_BIN_DIR/.build.lock"
if ! flock -n 9; then
	log "another build.sh holds $FD_BIN_DIR/.build.lock; waiting"
	flock 9
fi
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/filterdoctor-build.XXXXXX")"

for c in "${components[@]}"; do
	case "$c" in
	etcd) build_etcd ;;
	kube-apiserver) build_kube_apiserver ;;
	*) die "unknown component $c (want etcd or kube-apiserver)" ;;
	esac
done
