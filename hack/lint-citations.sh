#!/usr/bin/env bash
# Fails when a tracked file cites research notes that live outside the
# repository (a newcomer cannot open them). Cite the upstream source instead
# (repository, path and commit; an issue or PR number) or state the fact in
# the comment itself.
#
# Rejected: paths into shared/reference, the names of those notes, and a
# section sign that does not follow a named public specification (a bare
# "§6.4" points into some document the reader is not told about).
set -euo pipefail
cd "$(dirname "$0")/.."

self="hack/lint-citations.sh"
notes='shared/reference|envoy-admin\.md|istio-filters\.md|proxy-wasm-abi\.md|hostsigs|test-cluster\.md|code-style-anchors\.md'
# Named public specifications whose sections may be cited with §.
specs='(?<!SARIF 2\.1\.0 )(?<!WebAssembly core spec )(?<!RFC [0-9]{4} )'

status=0
if git grep -n -I -P -e "$notes" -e "${specs}§" -- . ":(exclude)$self"; then
	echo "lint-citations: the lines above cite files outside the repository;" >&2
	echo "  cite the upstream source (repo path at a commit, issue number) or state the fact" >&2
	status=1
fi
exit $status
