# --- test cluster (hack/testcluster/README.md) -------------------------------
# A local kube-apiserver + etcd with the Istio CRDs, for tests and poking at.
#   make testcluster-up && export FILTERDOCTOR_KUBECONFIG=$(TESTCLUSTER_DIR)/kubeconfig
# lets `go test` reuse it instead of starting one per test binary.
TESTCLUSTER_DIR ?= /tmp/filterdoctor-testcluster

.PHONY: testcluster-build testcluster-up testcluster-down

# Builds etcd and kube-apiserver once per version into ~/.cache/filterdoctor/bin.
testcluster-build:
	hack/testcluster/build.sh

testcluster-up: testcluster-build
	hack/testcluster/up.sh $(TESTCLUSTER_DIR)

testcluster-down:
	hack/testcluster/down.sh $(TESTCLUSTER_DIR)

# --- reference filters (filters/README.md) -----------------------------------
# Builds each Go proxy-wasm filter into filters/NAME/build/plugin.wasm with
# the stock toolchain. filters/ is its own module, so this runs there.
FILTERS_WASM := header-wasm callout-wasm

.PHONY: filters
filters:
	cd filters && for f in $(FILTERS_WASM); do \
		GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o $$f/build/plugin.wasm ./$$f || exit 1; \
	done

# --- the plugin -----------------------------------------------------------------
GOBIN ?= $(shell go env GOPATH)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# No -trimpath: Go then records these -ldflags in each binary's build
# information, which is how the plugin's `version` reads the engine's
# version and commit without running it.
LDFLAGS := -s -w -X github.com/filterdoctor/filterdoctor/pkg/clibase.Version=$(VERSION) -X github.com/filterdoctor/filterdoctor/pkg/clibase.Commit=$(COMMIT)

.PHONY: build install test docs generate check-generated lint demo release-snapshot tools

# Two executables that belong together (pkg/dispatch says why):
# kubectl-filterdoctor, which kubectl finds as `kubectl filterdoctor` once on
# PATH, and filterdoctor-engine beside it, which runs the commands the plugin
# hands over.
# kubectl_complete-filterdoctor, a link to the plugin, is what kubectl
# (1.26+) runs to complete `kubectl filterdoctor <TAB>`.
build:
	go build -ldflags '$(LDFLAGS)' -o bin/kubectl-filterdoctor ./cmd/filterdoctor
	go build -ldflags '$(LDFLAGS)' -o bin/filterdoctor-engine ./cmd/filterdoctor-engine
	ln -sf kubectl-filterdoctor bin/kubectl_complete-filterdoctor

install:
	go build -ldflags '$(LDFLAGS)' -o $(GOBIN)/kubectl-filterdoctor ./cmd/filterdoctor
	go build -ldflags '$(LDFLAGS)' -o $(GOBIN)/filterdoctor-engine ./cmd/filterdoctor-engine
	ln -sf kubectl-filterdoctor $(GOBIN)/kubectl_complete-filterdoctor

# docs/checks.md is generated from the finding registry; a test fails when stale.
docs:
	go run ./cmd/filterdoctor checks -o markdown > docs/checks.md

# Every generated file: docs/checks.md (above) and the Envoy proto import list
# (pkg/envoyproto/imports.go, knowntypes.go) from go-control-plane in go.mod.
generate: docs
	hack/gen-envoyproto-imports.sh

# The diff gate CI runs (.ci/run): fails when `make generate` changes a file.
check-generated:
	hack/check-generated.sh

# golangci-lint's linters and why each is on: .golangci.yml. The pinned
# version is built once into ~/.cache/filterdoctor/bin (hack/golangci-lint).
lint:
	hack/lint-citations.sh
	@test -z "$$(gofmt -l cmd pkg internal bench hack filters)" || { gofmt -l cmd pkg internal bench hack filters; echo "gofmt needed"; exit 1; }
	go vet ./...
	cd filters && GOOS=wasip1 GOARCH=wasm go vet ./...
	"$$(hack/golangci-lint/build.sh)" run ./...

# The whole suite. Needs wat2wasm (Debian: wabt) and the test cluster
# binaries (make testcluster-build); tests fail, never skip, without them.
test: lint
	go test -count=1 -timeout 25m ./...

# Installs the plugin and checks every reference set-up in filters/ offline
# (no cluster needed). Each set-up is checked on its own: the EnvoyFilter and
# WasmPlugin variants deploy the same sample app.
demo: install
	@for d in filters/*/deploy filters/*/deploy-wasmplugin filters/*/deploy-trafficextension; do \
		echo "== kubectl filterdoctor check -A -f $$d"; \
		PATH="$(GOBIN):$$PATH" kubectl filterdoctor check -A -f $$d || exit 1; \
	done

# --- benchmarks (bench/README.md) ---------------------------------------------
# Offline check vs istioctl analyze on generated 200- and 800-app meshes, and
# the start-up time of `version`. Builds istioctl once per version into
# ~/.cache/filterdoctor/bin (long the first time). Needs wabt, hyperfine, time.
.PHONY: bench-check
bench-check:
	bench/check-vs-istioctl.sh

# --- releases (.goreleaser.yaml, .krew.yaml) ---------------------------------
# goreleaser v2.15.1 and krew v0.4.3, built once per version from the Go
# module proxy into ~/.cache/filterdoctor/bin (goreleaser: minutes, once).
tools:
	hack/tools.sh

# Every platform's archive, checksums and the krew manifest in dist/, as a
# release would publish them; nothing is published. `hack/release.sh --host`
# builds this machine's platform only (what CI does).
release-snapshot:
	hack/release.sh
