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
