#!/usr/bin/env bash
# Starts a throwaway Kubernetes API server (etcd + kube-apiserver as plain
# local processes) with the real Istio CRDs installed, all state under DIR.
#
#   hack/testcluster/up.sh DIR        then  export KUBECONFIG=DIR/kubeconfig
#   hack/testcluster/down.sh DIR      stops it
#
# There is no kubelet, controller-manager or scheduler: objects are stored and
# validated exactly as in a real cluster, but nothing reconciles them (a
# Deployment gets no Pods, a deleted Namespace stays Terminating).
#
# Writes DIR/kubeconfig, DIR/pids ("name pid" per line, for down.sh),
# DIR/logs/*.log. Binaries come from build.sh's cache.
# Env:
#   FILTERDOCTOR_TESTCLUSTER_TIMEOUT    seconds to wait for readiness (default 90)
#   FILTERDOCTOR_TESTCLUSTER_OWNER_PID  if set, a watchdog runs down.sh when
#                                       that process exits (test binaries set
#                                       it so a crash or timeout leaks nothing)
#   FILTERDOCTOR_TESTCLUSTER_REMOVE_DIR if set too, the watchdog then also
#                                       deletes DIR (etcd preallocates 64 MB)
#   FILTERDOCTOR_ISTIO_CRDS             CRD YAML to apply instead of the one
#                                       in the istio.io/api module
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 DIR"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
TIMEOUT="${FILTERDOCTOR_TESTCLUSTER_TIMEOUT:-90}"
START=$SECONDS

# --- preflight: fail fast, naming exactly what is missing and how to fix it.
missing=()
[[ -x "$ETCD_BIN" ]] || missing+=("etcd $ETCD_VERSION (expected at $ETCD_BIN)")
[[ -x "$KUBE_APISERVER_BIN" ]] || missing+=("kube-apiserver $K8S_VERSION (expected at $KUBE_APISERVER_BIN)")
if ((${#missing[@]} > 0)); then
	for m in "${missing[@]}"; do log "missing binary: $m"; done
	die "build them with: $FD_SCRIPT_DIR/build.sh   (or: make testcluster-build)"
fi
for tool in go kubectl python3; do
	command -v "$tool" >/dev/null || die "$tool is not on PATH (up.sh needs go, kubectl and python3)"
done

# alive PID: true while PID is one of *our* processes. Matching DIR in its
# command line guards against PID reuse and treats zombies (empty cmdline) as
# dead.
alive() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR"; }

# running PID: true while our own child PID has not exited. alive() cannot
# serve here: while a just-started child is inside execve its cmdline can
# read empty, which made a healthy etcd look dead (and then be killed). A
# child we have not reaped cannot be recycled, and once it exits it is a
# zombie (state Z) until we wait for it.
running() {
	local stat
	{ stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	# The state follows the ")" that closes the command name.
	stat=${stat##*) }
	[[ -n "$stat" && "${stat%% *}" != Z ]]
}

# A DIR reused after a crash may hold a stale pids file; only refuse when
# one of its processes still runs.
if [[ -s "$DIR/pids" ]]; then
	while read -r name pid; do
		if alive "$pid"; then
			die "$name (pid $pid) from an earlier up.sh still runs in $DIR; run $FD_SCRIPT_DIR/down.sh $DIR first"
		fi
	done <"$DIR/pids"
	rm -f "$DIR/pids"
fi

# --- Istio CRDs: the very file shipped in the istio.io/api module our code
# builds against, so the schema/CEL rules match the Go types we use.
istio_crds() {
	if [[ -n "${FILTERDOCTOR_ISTIO_CRDS:-}" ]]; then
		echo "$FILTERDOCTOR_ISTIO_CRDS"
		return
	fi
	local v mdir
	v="$(cd "$FD_REPO_ROOT" && go list -m -f '{{.Version}}' istio.io/api 2>/dev/null)" || v=""
	[[ -n "$v" ]] || v="$ISTIO_API_FALLBACK_VERSION"
	# Outside our module, so `go mod download` cannot touch our go.mod/go.sum;
	# it is a no-op when the module is already in the module cache.
	mdir="$(cd / && GOWORK=off GOFLAGS='' go mod download -json "istio.io/api@$v" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	echo "$mdir/kubernetes/customresourcedefinitions.gen.yaml"
}
CRDS="$(istio_crds)"
[[ -f "$CRDS" ]] || die "Istio CRD file not found: $CRDS"

# --- Gateway API CRDs (Gateway and GatewayClass, standard channel): the
# files the sigs.k8s.io/gateway-api module ships under config/crd, so that
# waypoints (Gateways of class istio-waypoint) can be stored and read.
GATEWAY_API_VERSION="${FILTERDOCTOR_GATEWAY_API_VERSION:-v1.3.0}"
gateway_api_crds() {
	local mdir
	mdir="$(cd / && GOWORK=off GOFLAGS='' go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	echo "$mdir/config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml"
	echo "$mdir/config/crd/standard/gateway.networking.k8s.io_gateways.yaml"
}
mapfile -t GW_CRDS < <(gateway_api_crds)
for f in "${GW_CRDS[@]}"; do [[ -f "$f" ]] || die "Gateway API CRD file not found: $f"; done
CRD_ARGS=(-f "$CRDS")
for f in "${GW_CRDS[@]}"; do CRD_ARGS+=(-f "$f"); done

mkdir -p "$DIR/logs"
log "generating PKI in $DIR/pki"
# Built as a one-file module of its own so that it works whatever state our
# go.mod is in (e.g. mid-edit, or missing go.sum lines): it needs only std.
PKI_SRC="$(mktemp -d "${TMPDIR:-/tmp}/filterdoctor-pki.XXXXXX")"
cp "$FD_SCRIPT_DIR/pki/main.go" "$PKI_SRC/"
printf 'module filterdoctor.local/testcluster/pki\n\ngo 1.22\n' >"$PKI_SRC/go.mod"
pki_rc=0
(cd "$PKI_SRC" && GOWORK=off GOFLAGS='' go run . -dir "$DIR/pki") || pki_rc=$?
rm -rf "$PKI_SRC"
((pki_rc == 0)) || die "generating the PKI failed"
PKI="$DIR/pki"

# Three distinct free ports, chosen now rather than fixed: many clusters (and
# other engineers' servers) share this machine. Holding all three sockets
# open until all are bound makes them distinct.
free_ports() {
	python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss:
    s.close()
'
}

PIDS=()
stop_started() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	PIDS=()
}

b64() { base64 -w0 <"$1"; }
write_kubeconfig() {
	# Certificates are embedded so the file stays valid if copied elsewhere.
	cat >"$DIR/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: filterdoctor-test
  cluster:
    server: https://127.0.0.1:$1
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: filterdoctor-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
contexts:
- name: filterdoctor-test
  context:
    cluster: filterdoctor-test
    user: filterdoctor-admin
current-context: filterdoctor-test
EOF
	chmod 0600 "$DIR/kubeconfig.tmp"
	mv -f "$DIR/kubeconfig.tmp" "$DIR/kubeconfig"
}

KC=(kubectl --kubeconfig "$DIR/kubeconfig")

# start_once: one attempt with fresh ports. Returns 2 when a port was taken
# between choosing and binding (worth retrying), 1 on any other failure.
start_once() {
	local etcd_client etcd_peer api_port
	# set -e does not apply inside a function called from `||`, hence the
	# explicit checks in here.
	read -r etcd_client etcd_peer api_port < <(free_ports) || true
	[[ -n "$api_port" ]] || { log "could not pick free ports"; return 1; }
	rm -rf "$DIR/etcd-data"
	log "starting etcd $ETCD_VERSION on 127.0.0.1:$etcd_client"
	# A throwaway store: skipping fsync makes the many small writes of a test
	# run (and the big CRDs) fast on slow disks; durability is irrelevant.
	"$ETCD_BIN" --name=node0 --data-dir="$DIR/etcd-data" \
		--listen-client-urls="http://127.0.0.1:$etcd_client" \
		--advertise-client-urls="http://127.0.0.1:$etcd_client" \
		--listen-peer-urls="http://127.0.0.1:$etcd_peer" \
		--initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
		--initial-cluster="node0=http://127.0.0.1:$etcd_peer" \
		--quota-backend-bytes=2147483648 --unsafe-no-fsync \
		--log-level=warn \
		</dev/null >"$DIR/logs/etcd.log" 2>&1 &
	local etcd_pid=$!
	PIDS+=("$etcd_pid")

	# etcd binds both ports before it serves; if it dies it lost a race.
	local deadline=$((SECONDS + TIMEOUT))
	until (exec 3<>"/dev/tcp/127.0.0.1/$etcd_client") 2>/dev/null && running "$etcd_pid"; do
		if ! running "$etcd_pid"; then
			if grep -q 'address already in use' "$DIR/logs/etcd.log"; then return 2; fi
			log "etcd exited; last log lines:"; tail -n 20 "$DIR/logs/etcd.log" >&2; return 1
		fi
		((SECONDS < deadline)) || { log "etcd not listening after ${TIMEOUT}s"; return 1; }
		sleep 0.1
	done

	log "starting kube-apiserver $K8S_VERSION on https://127.0.0.1:$api_port"
	# --advertise-address/--endpoint-reconciler-type=none: the host may have
	# no routable interface, and Endpoints may not hold a loopback IP.
	# ServiceAccount admission is off because no controller-manager creates
	# each namespace's "default" ServiceAccount, so Pod creation would fail.
	"$KUBE_APISERVER_BIN" \
		--etcd-servers="http://127.0.0.1:$etcd_client" \
		--bind-address=127.0.0.1 --secure-port="$api_port" \
		--advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
		--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$PKI/ca.crt" \
		--service-account-key-file="$PKI/sa.pub" \
		--service-account-signing-key-file="$PKI/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range=10.96.0.0/16 \
		--authorization-mode=RBAC --allow-privileged=true \
		--disable-admission-plugins=ServiceAccount \
		--profiling=false \
		</dev/null >"$DIR/logs/kube-apiserver.log" 2>&1 &
	local api_pid=$!
	PIDS+=("$api_pid")
	# Recorded before waiting, so down.sh can clean up even if we are killed.
	printf 'kube-apiserver %s\netcd %s\n' "$api_pid" "$etcd_pid" >"$DIR/pids"
	write_kubeconfig "$api_port"

	until "${KC[@]}" get --raw /readyz >/dev/null 2>&1; do
		if ! running "$api_pid"; then
			if grep -q 'address already in use' "$DIR/logs/kube-apiserver.log"; then return 2; fi
			log "kube-apiserver exited; last log lines:"; tail -n 30 "$DIR/logs/kube-apiserver.log" >&2; return 1
		fi
		if ((SECONDS >= deadline)); then
			log "kube-apiserver not ready after ${TIMEOUT}s; /readyz says:"
			"${KC[@]}" get --raw '/readyz?verbose' >&2 || true
			log "last log lines:"; tail -n 30 "$DIR/logs/kube-apiserver.log" >&2
			return 1
		fi
		sleep 0.3
	done
	log "kube-apiserver ready after $((SECONDS - START))s"
}

attempt=1
while :; do
	rc=0
	start_once || rc=$?
	((rc == 0)) && break
	stop_started
	rm -f "$DIR/pids"
	if ((rc == 2 && attempt < 3)); then
		log "a chosen port was taken meanwhile; retrying with new ports"
		attempt=$((attempt + 1))
		continue
	fi
	die "cluster failed to start (logs in $DIR/logs)"
done

if [[ -n "${FILTERDOCTOR_TESTCLUSTER_OWNER_PID:-}" ]]; then
	owner="$FILTERDOCTOR_TESTCLUSTER_OWNER_PID"
	remove_dir="${FILTERDOCTOR_TESTCLUSTER_REMOVE_DIR:-}"
	# The subshell's command line still contains DIR (it is this script), so
	# down.sh's PID-reuse check accepts it.
	(
		trap '' INT HUP
		while kill -0 "$owner" 2>/dev/null; do sleep 1; done
		"$FD_SCRIPT_DIR/down.sh" "$DIR" && if [[ -n "$remove_dir" ]]; then rm -rf "$DIR"; fi
	) </dev/null >"$DIR/logs/watchdog.log" 2>&1 &
	printf 'watchdog %s\n' "$!" >>"$DIR/pids"
fi

log "applying Istio CRDs from $CRDS and Gateway API $GATEWAY_API_VERSION CRDs"
fail_crds() {
	log "last kube-apiserver log lines:"; tail -n 30 "$DIR/logs/kube-apiserver.log" >&2
	"$FD_SCRIPT_DIR/down.sh" "$DIR" || true
	die "$1"
}
# Server-side: the CRDs are too big for client-side apply's annotation.
# Retried because on a loaded machine the freshly ready server can still
# answer a transient 5xx while its CRD controllers start.
for try in 1 2 3; do
	if "${KC[@]}" apply --server-side --field-manager=filterdoctor-testcluster "${CRD_ARGS[@]}" >"$DIR/logs/crds.log" 2>&1; then
		break
	fi
	((try < 3)) || fail_crds "applying $CRDS failed: $(tail -n 5 "$DIR/logs/crds.log")"
	log "applying the CRDs failed (try $try), retrying: $(tail -n 1 "$DIR/logs/crds.log")"
	sleep 2
done
"${KC[@]}" wait --for=condition=Established --timeout="$((TIMEOUT > 60 ? TIMEOUT : 60))s" "${CRD_ARGS[@]}" >>"$DIR/logs/crds.log" 2>&1 ||
	fail_crds "Istio CRDs not Established: $(tail -n 5 "$DIR/logs/crds.log")"

log "cluster up in $((SECONDS - START))s: export KUBECONFIG=$DIR/kubeconfig ; stop with $FD_SCRIPT_DIR/down.sh $DIR"
