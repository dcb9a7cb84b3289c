#!/usr/bin/env bash
# Builds a release snapshot with GoReleaser (nothing is published), renders
# the krew manifest for it and validates that with krew's own validator.
#
#   hack/release.sh          every platform of .goreleaser.yaml (make release-snapshot)
#   hack/release.sh --host   only this machine's GOOS/GOARCH (CI: one build
#                            of each executable instead of six)
#
# Output: dist/filterdoctor_<os>_<arch>.{tar.gz,zip}, dist/checksums.txt,
# dist/krew/filterdoctor.yaml. The tools come from hack/tools.sh (built once
# per version from the Go module proxy).
set -euo pipefail
cd "$(dirname "$0")/.."

host=false
case "${1:-}" in
--host) host=true ;;
"") ;;
*) echo "usage: hack/release.sh [--host]" >&2; exit 2 ;;
esac

hack/tools.sh goreleaser validate-krew-manifest
goreleaser="$(hack/tools.sh --path goreleaser)"
validate="$(hack/tools.sh --path validate-krew-manifest)"

echo "== goreleaser check"
"$goreleaser" check

config=.goreleaser.yaml
if $host; then
	goos="$(go env GOOS)" goarch="$(go env GOARCH)"
	config="$(mktemp "${TMPDIR:-/tmp}/goreleaser-host.XXXXXX.yaml")"
	trap 'rm -f "$config"' EXIT
	# Rewrite the two anchored target lines (see .goreleaser.yaml); fail
	# loudly if they ever stop matching rather than build everything.
	sed -e "s/^\(    goos: &goos\) \[.*\]$/\1 [$goos]/" \
		-e "s/^\(    goarch: &goarch\) \[.*\]$/\1 [$goarch]/" .goreleaser.yaml >"$config"
	grep -q "^    goos: &goos \[$goos\]$" "$config" && grep -q "^    goarch: &goarch \[$goarch\]$" "$config" ||
		{ echo "hack/release.sh: could not narrow .goreleaser.yaml to $goos/$goarch" >&2; exit 1; }
fi

echo "== goreleaser release --snapshot ($($host && echo "$goos/$goarch only" || echo "every platform"))"
start=$SECONDS
"$goreleaser" release --snapshot --clean --config "$config"
echo "== built in $((SECONDS - start))s"

echo "== krew manifest"
skip=()
if $host; then skip=(-skip-missing); fi
manifest="$(go run ./hack/krewmanifest -template .krew.yaml -dist dist "${skip[@]}")"
# -skip-install: the validator's install step downloads each platform's
# uri, which a snapshot has not published (and CI has no network for).
# The offline install from the local archive is tested instead
# (TestKrewInstall in internal/release).
"$validate" -manifest "$manifest" -skip-install
echo "$manifest: valid"
