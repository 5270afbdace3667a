# planetscale-operator — `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
TESTENV := hack/testenv
# Where cargo puts its output (CARGO_TARGET_DIR, as cargo itself honours it).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
CRDGEN := $(TARGET_DIR)/debug/crdgen
DOCGEN := $(TARGET_DIR)/debug/docgen
CHART_CRDS := charts/planetscale-operator/crds
# Integration tests (hack/test/integration): INTEGRATION_JOBS test binaries at once, each running up to TEST_THREADS tests at once, all on one shared control plane.
TEST_THREADS ?= 4
INTEGRATION_JOBS ?= 4
# Chaos suite size: 1 (make test) is issue 11's size (50 passwords, 10 deploy requests, 16 SIGKILLs), 5 five times it.
CHAOS_SCALE ?= 1
CHAOS_TESTENV := $(CURDIR)/.chaos/testenv
RECONCILER_TESTENV := $(CURDIR)/.reconciler/testenv
comma := ,

.PHONY: help build fmt lint deny unit-test test integration-test crds check-generated \
        testenv-build testenv-up testenv-down testenv-status demo demo-down docs bench clean chaos \
        reconciler-test \
        image cluster-up cluster-down cluster-status e2e \
        realdb-up realdb-down realdb-test

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build every binary (operator, crdgen, emulator)
	$(CARGO) build --workspace --bins

fmt: ## Format the code
	$(CARGO) fmt --all

lint: ## rustfmt --check, clippy -D warnings, rustdoc -D warnings for every crate, cargo deny
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p planetscale-api -p planetscale-emulator --no-deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p planetscale-operator --no-deps --document-private-items
	@$(MAKE) --no-print-directory deny

# cargo-deny is installed once into ~/.cache/planetscale-operator/tools (hack/tools/install).
# Advisories are not checked: their database is a GitHub repository, out of reach here (deny.toml).
# `cargo fetch` first: a build downloads only this platform's crates, and cargo-deny's offline
# `cargo metadata` needs every platform's (a fresh machine has no others in its registry cache).
deny: ## cargo deny: licenses, duplicate versions, crates.io as the only source (offline)
	@bin=$$(hack/tools/install) && $(CARGO) fetch --locked --quiet && \
	  $$bin/cargo-deny --offline check --hide-inclusion-graph licenses bans sources

# The emulator's suite validates every response against the OpenAPI spec (it fails when the
# spec is missing; PSO_SKIP_CONFORMANCE=1 skips the checks), logs each validated operation,
# and the last step fails if an implemented spec operation was never validated (same -p set as
# the step before, so cargo reuses that build of the test binary).
unit-test: ## Unit tests, doctests and the emulator's own tests (no control plane needed)
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test -p planetscale-api -p planetscale-emulator --doc
	@log=$$(mktemp) && trap 'rm -f "$$log"' EXIT && set -x && \
	  PLANETSCALE_CONFORMANCE_LOG=$$log $(CARGO) test -p planetscale-api -p planetscale-emulator --tests && \
	  PLANETSCALE_CONFORMANCE_LOG=$$log $(CARGO) test -p planetscale-api -p planetscale-emulator --test it -- \
	    --ignored --exact conformance::every_operation_was_served_and_every_spec_operation_validated

crds: build ## Regenerate crds/ and the chart's copy from the Rust types
	@mkdir -p crds $(CHART_CRDS)
	rm -f crds/*.yaml && $(CRDGEN) --out-dir crds
	rm -f $(CHART_CRDS)/*.yaml && cp crds/*.yaml $(CHART_CRDS)/

check-generated: build ## Fail when crds/, the chart's copy or docs/reference/ differ from the Rust types
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && $(CRDGEN) --out-dir $$tmp && \
	  diff -ru $$tmp crds && diff -ru crds $(CHART_CRDS) && echo "generated files are up to date" || \
	  { echo "crds/ is stale: run 'make crds' and commit the result" >&2; exit 1; }
	@$(DOCGEN) --check docs/reference

docs: build ## Regenerate the per-kind field reference docs/reference/ from the CRD types
	$(DOCGEN) --out-dir docs/reference

testenv-build: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl, helm (cached)
	$(TESTENV)/build

testenv-up: testenv-build ## Start the local control plane (writes .testenv/kubeconfig)
	TESTENV_CRDS=$(CURDIR)/crds $(TESTENV)/up

testenv-down: ## Stop the local control plane
	$(TESTENV)/down

testenv-status: ## Is the local control plane running?
	$(TESTENV)/status

# INTEGRATION_TESTS=branch,password runs only those binaries; each binary's output is in
# target/test-logs/integration/<name>.log (the failed ones' are printed at the end).
integration-test: build ## Integration tests against a running control plane, several binaries at once (the realdb_ tests of tests/connect.rs when realdb-up ran)
	PSO_KUBECONFIG=$(CURDIR)/.testenv/kubeconfig INTEGRATION_JOBS=$(INTEGRATION_JOBS) TEST_THREADS=$(TEST_THREADS) \
	  hack/test/integration $(subst $(comma), ,$(INTEGRATION_TESTS)) -- $(if $(wildcard .realdb/env),,--skip realdb_)

realdb-up: ## Real MariaDB and PostgreSQL with TLS for the emulator's --realdb, and the client drivers (cached)
	hack/realdb/up
	hack/realdb/drivers

realdb-down: ## Stop the real database servers
	hack/realdb/down

realdb-test: build ## Every Secret format through its real driver against real servers (needs a running control plane)
	@trap 'hack/realdb/down >/dev/null' EXIT INT TERM; \
	  $(MAKE) --no-print-directory realdb-up && \
	  PSO_KUBECONFIG=$(CURDIR)/.testenv/kubeconfig $(CARGO) test -p planetscale-operator --test connect -- --test-threads=2

reconciler-test: testenv-build ## Reconciler tests: each kind's reconcile called directly, emulator in process, on their own control plane
	@trap 'TESTENV_DIR=$(RECONCILER_TESTENV) $(TESTENV)/down >/dev/null' EXIT INT TERM; \
	  TESTENV_DIR=$(RECONCILER_TESTENV) TESTENV_CRDS=$(CURDIR)/crds $(TESTENV)/up && \
	  PSO_KUBECONFIG=$(RECONCILER_TESTENV)/kubeconfig \
	  $(CARGO) test -p planetscale-operator --test reconciler -- --test-threads=$(TEST_THREADS)

chaos: build testenv-build ## Faults, SIGKILLs and a kube-apiserver restart on its own control plane (CHAOS_SCALE=5: five times the size)
	@trap 'TESTENV_DIR=$(CHAOS_TESTENV) $(TESTENV)/down >/dev/null' EXIT INT TERM; \
	  TESTENV_DIR=$(CHAOS_TESTENV) TESTENV_CRDS=$(CURDIR)/crds $(TESTENV)/up && \
	  PSO_KUBECONFIG=$(CHAOS_TESTENV)/kubeconfig PSO_CHAOS_TESTENV_DIR=$(CHAOS_TESTENV) CHAOS_SCALE=$(CHAOS_SCALE) \
	  $(CARGO) test -p planetscale-operator --test chaos -- --ignored --nocapture

# The reconciler tests (tests/reconciler.rs) run among the integration binaries, on the same
# control plane; `make reconciler-test` runs only them, on a control plane of their own.
# hack/test/stage runs chaos beside the integration stage, each on its own control plane
# (CHAOS_BESIDE=0: after it).
test: ## Everything: lint, unit tests, check-generated, control plane up, integration and reconciler tests (chaos beside them), down, e2e
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory check-generated
	@$(MAKE) --no-print-directory testenv-build
	@MAKE="$(MAKE)" hack/test/stage
	@$(MAKE) --no-print-directory e2e IMAGE_PROFILE=dev

# The images and the local node (docs/cluster.md). IMAGE_PROFILE=dev builds the images from the
# debug build (what `make test` has built already); release otherwise.
CLUSTER := hack/cluster
IMAGE_PROFILE ?= release

image: ## Operator and emulator images (offline: host-built binaries on a locally built base)
	IMAGE_PROFILE=$(IMAGE_PROFILE) $(CLUSTER)/image

cluster-up: testenv-build ## A local cluster whose node runs Pods (writes .cluster/kubeconfig)
	$(CLUSTER)/up

cluster-down: ## Stop the local cluster (and the dockerd it started)
	$(CLUSTER)/down

cluster-status: ## Is the local cluster's node running?
	@$(CLUSTER)/status

# `make e2e KUBECONFIG=path` runs against that cluster instead (images loaded there by you); a
# KUBECONFIG from the environment is ignored, so a real cluster is never used by accident.
e2e: testenv-build ## Images, the local node, the chart and an app as Pods: tests/e2e.rs
ifeq ($(origin KUBECONFIG),command line)
	E2E_KUBECONFIG=$(KUBECONFIG) $(CLUSTER)/e2e
else
	IMAGE_PROFILE=$(IMAGE_PROFILE) $(CLUSTER)/e2e
endif

demo: ## The operator end to end on local defaults: control plane, emulator, operator, examples/demo/
	hack/demo/up

demo-down: ## Stop exactly what `make demo` started
	hack/demo/down

bench: testenv-build ## Benchmark on its own control plane (.bench/): burst, idle, latency, memory, fairness, scale, webhooks; BENCH_N=20 for a quick run
	$(CARGO) build --release --workspace --bins
	@trap 'TESTENV_DIR=$(CURDIR)/.bench/testenv $(TESTENV)/down --keep-logs >/dev/null' EXIT INT TERM; \
	  $(CARGO) bench --bench operator -- $(BENCH_ARGS)

clean: ## Remove build output (not the control-plane binary cache)
	$(CARGO) clean
