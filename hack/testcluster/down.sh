#!/usr/bin/env bash
# Stops the test cluster that up.sh started in DIR: exactly the PIDs recorded
# in DIR/pids, in order (kube-apiserver before etcd, so the apiserver does not
# hang retrying a vanished etcd). SIGTERM first, SIGKILL after a grace period.
# Logs stay in DIR/logs; DIR itself is left for the caller to remove.
#
#   hack/testcluster/down.sh DIR
# Env: FILTERDOCTOR_TESTCLUSTER_GRACE  seconds before SIGKILL (default 5)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 DIR"
[[ -d "$1" ]] || die "no such directory: $1"
DIR="$(cd "$1" && pwd)"
GRACE="${FILTERDOCTOR_TESTCLUSTER_GRACE:-5}"

if [[ ! -s "$DIR/pids" ]]; then
	log "nothing to stop in $DIR (no pids file)"
	exit 0
fi

# Same rule as up.sh: only a live process whose command line names DIR is
# ours. A recycled PID or a zombie is left alone.
alive() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR"; }

stop() {
	local name="$1" pid="$2" i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < GRACE * 10; i++)); do
		alive "$pid" || { log "stopped $name (pid $pid)"; return 0; }
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIGTERM for ${GRACE}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	log "WARNING: $name (pid $pid) still alive after SIGKILL"
	return 1
}

# The watchdog first, unless it is the one running us: then it is our parent,
# or, as bash execs a subshell's last command in place, we are it.
rc=0
while read -r name pid; do
	if [[ "$name" == watchdog && "$pid" != "$PPID" && "$pid" != "$$" ]]; then stop "$name" "$pid" || rc=1; fi
done <"$DIR/pids"
while read -r name pid; do
	if [[ "$name" != watchdog ]]; then stop "$name" "$pid" || rc=1; fi
done <"$DIR/pids"
if ((rc == 0)); then rm -f "$DIR/pids"; fi
exit "$rc"
