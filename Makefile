# roomsync Makefile. `make help` lists the targets.

IMG ?= ghcr.io/roomsync/roomsync:latest

LOCALBIN ?= $(CURDIR)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool versions (each builds with the Go toolchain in go.mod).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.1
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
CRD_REF_DOCS_VERSION ?= v0.3.0
# The kube-apiserver, etcd and kubectl for envtest come from hack/tools/go.mod;
# this only stamps their version.
KUBERNETES_VERSION ?= v1.37.2
# kwok simulates the nodes of the local cluster (make dev, e2e and fault tests).
KWOK_VERSION ?= v0.8.0

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
CRD_REF_DOCS ?= $(LOCALBIN)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)
export HELM

# envtest's control plane. setup-envtest downloads prebuilt binaries, which not
# every build machine can reach; we build them from source through the Go
# module proxy instead (hack/tools). Point KUBEBUILDER_ASSETS at a directory
# with kube-apiserver, etcd and kubectl to use your own.
ENVTEST_DIR ?= $(LOCALBIN)/k8s
ifndef KUBEBUILDER_ASSETS
KUBEBUILDER_ASSETS := $(ENVTEST_DIR)
ENVTEST_DEP := envtest
endif
export KUBEBUILDER_ASSETS
KUBECTL ?= $(KUBEBUILDER_ASSETS)/kubectl

GO_TEST_FLAGS ?= -count=1 -timeout=20m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: dev
dev: build $(ENVTEST_DEP) cluster-tools ## Run roomsync in a local cluster (fake nodes run its recording Jobs), with a sample ChatApp; Ctrl-C stops it all.
	go build -o $(LOCALBIN)/roomsync-dev ./hack/dev
	$(LOCALBIN)/roomsync-dev --operator $(LOCALBIN)/roomsync --assets $(KUBEBUILDER_ASSETS) --dir $(LOCALBIN)/dev

.PHONY: manifests
manifests: $(CONTROLLER_GEN) docs ## Generate the CRDs, RBAC and API reference from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:generateEmbeddedObjectMeta=true paths="./..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/crdtrim config/crd/bases/chat.roomsync.io_chatapps.yaml
	@# The Helm chart installs the same CRDs and manager rules: copies, never edited.
	mkdir -p charts/roomsync/files/crds charts/roomsync/files/rbac
	cp config/crd/bases/*.yaml charts/roomsync/files/crds/
	cp config/rbac/role.yaml charts/roomsync/files/rbac/role.yaml

.PHONY: docs
docs: $(CRD_REF_DOCS) ## Generate the API reference, docs/api.md, from the API types and their comments.
	mkdir -p docs
	$(CRD_REF_DOCS) --source-path=./api/v1alpha1 --config=hack/crd-ref-docs/config.yaml --renderer=markdown \
		--templates-dir=hack/crd-ref-docs/templates/markdown --output-path=docs/api.md --log-level=WARN

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods and apply configurations.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" applyconfiguration:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (configuration in .golangci.yml).
	$(GOLANGCI_LINT) run ./...

.PHONY: test
test: manifests generate fmt vet $(ENVTEST_DEP) cluster-tools $(HELM) ## Run every test: unit, envtest and end-to-end.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files are not committed as generated.
	@if [ -n "$$(git status --porcelain -- api config charts/roomsync/files docs/api.md)" ]; then \
		git status --short -- api config charts/roomsync/files docs/api.md; git diff -- api config charts/roomsync/files docs/api.md | head -50; \
		echo "generated files are out of date: run 'make manifests generate' and commit them"; exit 1; fi

.PHONY: bench
bench: build $(ENVTEST_DEP) ## Measure the receiver against the API server's own write speed, a hot room and memory (BENCH_FLAGS, see go run ./hack/bench -h).
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) go run ./hack/bench --operator $(LOCALBIN)/roomsync --json $(LOCALBIN)/bench.json $(BENCH_FLAGS)

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s).
	go test -run='^$$' -fuzz=FuzzDecodeRoomInfoEvent -fuzztime=$(or $(FUZZTIME),30s) ./internal/tencent/
	go test -run='^$$' -fuzz=FuzzDecodeEnvelope -fuzztime=$(or $(FUZZTIME),30s) ./internal/tencent/
	go test -run='^$$' -fuzz=FuzzNameFor -fuzztime=$(or $(FUZZTIME),30s) ./internal/roomstore/
	go test -run='^$$' -fuzz=FuzzHandler -fuzztime=$(or $(FUZZTIME),30s) ./webhookserver/
	go test -run='^$$' -fuzz=FuzzDecodeSpooled -fuzztime=$(or $(FUZZTIME),30s) ./internal/roomstore/
	go test -run='^$$' -fuzz=FuzzDecodeEntry -fuzztime=$(or $(FUZZTIME),30s) ./internal/spool/
	go test -run='^$$' -fuzz=FuzzDecodeDeadLetter -fuzztime=$(or $(FUZZTIME),30s) ./internal/spool/

##@ Build

.PHONY: build
build: $(LOCALBIN) ## Build the operator into bin/roomsync and the kubectl plugin into bin/kubectl-roomsync.
	CGO_ENABLED=0 go build -o $(LOCALBIN)/roomsync .
	CGO_ENABLED=0 go build -o $(LOCALBIN)/kubectl-roomsync ./cmd/kubectl-roomsync

.PHONY: run
run: ## Run the operator against the cluster in your current kubeconfig.
	go run . --callback-bind-address=:8082

.PHONY: docker-build
docker-build: ## Build the container image.
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests $(KUSTOMIZE) ## Install the CRDs into the cluster in your kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) ## Uninstall the CRDs (this deletes every Room and ChatApp).
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy the operator (image IMG) into the cluster in your kubeconfig.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Remove the operator (the CRDs, and so Rooms, stay unless you also run uninstall).
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

##@ Tools

.PHONY: envtest
envtest: $(ENVTEST_DIR)/kube-apiserver $(ENVTEST_DIR)/etcd $(ENVTEST_DIR)/kubectl cluster-tools ## Build kube-apiserver, etcd and kubectl into bin/k8s, with the cluster tools.

# The rest of a local cluster, for make dev and the e2e and fault tests (see
# internal/testenv/cluster.go): kube-controller-manager and kube-scheduler
# from hack/tools (the same Kubernetes as kube-apiserver) and kwok's fake
# nodes (hack/kwok/stages.yaml).
.PHONY: cluster-tools
cluster-tools: $(ENVTEST_DIR)/kube-controller-manager $(ENVTEST_DIR)/kube-scheduler $(ENVTEST_DIR)/kwok
$(ENVTEST_DIR)/kube-controller-manager $(ENVTEST_DIR)/kube-scheduler: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/$(@F)
$(ENVTEST_DIR)/kwok: $(ENVTEST_DIR)/.kwok-$(KWOK_VERSION)
$(ENVTEST_DIR)/.kwok-$(KWOK_VERSION):
	mkdir -p $(ENVTEST_DIR)
	GOBIN=$(abspath $(ENVTEST_DIR)) go install sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION)
	touch $@

K8S_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KUBERNETES_VERSION) \
	-X k8s.io/client-go/pkg/version.gitVersion=$(KUBERNETES_VERSION)
$(ENVTEST_DIR)/kube-apiserver $(ENVTEST_DIR)/kubectl: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/$(@F)
$(ENVTEST_DIR)/etcd: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && go build -o $@ go.etcd.io/etcd/server/v3

$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))
$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION))
$(CRD_REF_DOCS): | $(LOCALBIN)
	$(call go-install-tool,$(CRD_REF_DOCS),github.com/elastic/crd-ref-docs,$(CRD_REF_DOCS_VERSION))
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool installs package $2 at version $3 as $1, which is the name
# go install gives it with "-$3" appended, so that changing a version above
# installs the new one.
define go-install-tool
@set -e; \
echo "Installing $(2)@$(3)"; \
GOBIN=$(LOCALBIN) go install $(2)@$(3); \
mv "$$(echo "$(1)" | sed "s/-$(3)$$//")" $(1)
endef
