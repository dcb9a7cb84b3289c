# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared by build.sh, up.sh and down.sh (sourced, not executed).
# One place for the pinned versions and the cache layout, so the three
# scripts can never disagree about which binary is "the" binary.

# kube-apiserver must stay within one minor of our client-go (v0.35.x).
# v1.35.8 is the newest v1.35 patch the Go module proxy serves here
# (v1.35.9 and v1.35.10 answer "403 not available").
K8S_VERSION="${FILTERDOCTOR_K8S_VERSION:-v1.35.8}"
# etcd >= 3.5.13 implements RequestWatchProgress, so kube-apiserver's default
# WatchList feature gate works without --feature-gates=WatchList=false.
ETCD_VERSION="${FILTERDOCTOR_ETCD_VERSION:-v3.6.16}"
# Fallback only: the Istio CRDs come from the istio.io/api version in go.mod.
ISTIO_API_FALLBACK_VERSION="v1.32.0"

FD_CACHE_DIR="${FILTERDOCTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/filterdoctor}"
FD_BIN_DIR="$FD_CACHE_DIR/bin"
ETCD_BIN="${FILTERDOCTOR_ETCD_BIN:-$FD_BIN_DIR/etcd-$ETCD_VERSION/etcd}"
KUBE_APISERVER_BIN="${FILTERDOCTOR_KUBE_APISERVER_BIN:-$FD_BIN_DIR/kube-apiserver-$K8S_VERSION/kube-apiserver}"

FD_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FD_REPO_ROOT="$(cd "$FD_SCRIPT_DIR/../.." && pwd)"

log() { printf '%s [testcluster] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
