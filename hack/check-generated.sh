#!/usr/bin/env bash
# The diff gate for generated files: runs `make generate` and fails when it
# changed anything, printing the diff. The work tree is compared with itself
# before and after (snapshots written through a throwaway index), so local
# edits made before the run are not blamed; on CI's clean checkout this is
# `git diff --exit-code` after `make generate`.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() {
	local idx
	idx="$(mktemp "${TMPDIR:-/tmp}/filterdoctor-gen-index.XXXXXX")"
	cp "$(git rev-parse --git-path index)" "$idx"
	GIT_INDEX_FILE="$idx" git add -A .
	GIT_INDEX_FILE="$idx" git write-tree
	rm -f "$idx"
}

before="$(snapshot)"
make --no-print-directory generate >/dev/null
after="$(snapshot)"
if ! git diff --exit-code "$before" "$after"; then
	echo "check-generated: 'make generate' changed the files above; run it and commit the result" >&2
	exit 1
fi
echo "check-generated: every generated file is up to date"
