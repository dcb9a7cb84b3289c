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
