# apicron's everyday commands; `make help` lists them. CI (.ci/run) calls
# the same targets. Everything needs only Go; lint fetches golangci-lint
# through the Go module proxy on first use.

GO ?= go
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
FUZZTIME ?= 5s
BENCH ?= .
BENCHTIME ?= 1s
PKGS ?= ./...
# axe-core audits the dashboard's accessibility in the browser tests (make axe).
AXE_VERSION ?= 4.14.1
AXE_SHA256 ?= 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
AXE_DIR ?= .cache/axe-core-$(AXE_VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## serve on http://127.0.0.1:8000 with SQLite in ./apicron.db
	$(GO) run ./cmd/apicron

.PHONY: build
build: ## build the static binary ./apicron (no cgo)
	CGO_ENABLED=0 $(GO) build -o apicron ./cmd/apicron

.PHONY: test
test: ## the fast tests (-short: no multi-process, kill or restart tests); under a minute
	$(GO) test -short -count=1 $(PKGS)

.PHONY: test-all
test-all: ## every test, as the README's `go test ./...`
	$(GO) test -count=1 -p 1 -timeout 40m $(PKGS)

.PHONY: test-race
test-race: ## every test under the race detector (needs cgo and a C compiler), packages one after another
	CGO_ENABLED=1 $(GO) test -race -count=1 -p 1 -timeout 40m $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet, golangci-lint (staticcheck, errcheck, revive, depguard...; see .golangci.yml)
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GOLANGCI_LINT) run $(PKGS)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 5s); the list is found in the code
	@set -e; \
	for pkg in $$($(GO) list -f '{{.Dir}}' $(PKGS)); do \
		for name in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
			rel=./$$(realpath --relative-to=. $$pkg); \
			echo "== $$rel $$name"; \
			if ! $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$rel; then \
				echo "!!! fuzzing $$name in $$rel found a failing input (see above); it is saved under $$rel/testdata/fuzz"; \
				if [ -n "$$FUZZ_STRICT" ]; then exit 1; fi; \
			fi; \
		done; \
	done

.PHONY: bench
bench: ## micro-benchmarks (BENCH=regexp, BENCHTIME=1s); the load harness is cmd/apicron-bench
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem $(PKGS)

.PHONY: openapi-lint
openapi-lint: ## lint the served OpenAPI document with Redocly's recommended rules (needs npx)
	$(GO) run ./cmd/apicron openapi > openapi.json
	npx --yes @redocly/cli@2.77.0 lint --extends recommended openapi.json; rc=$$?; rm -f openapi.json; exit $$rc

.PHONY: axe
axe: ## fetch axe-core (pinned, checked) for the dashboard's accessibility audit; prints the export to run it (needs npm)
	@set -e; if [ ! -f $(AXE_DIR)/axe.min.js ]; then \
		mkdir -p $(AXE_DIR); tmp=$$(mktemp -d); \
		(cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar -xzf ./*.tgz); \
		cp $$tmp/package/axe.min.js $$tmp/package/LICENSE $(AXE_DIR)/; rm -rf $$tmp; \
	fi; \
	echo "$(AXE_SHA256)  $(AXE_DIR)/axe.min.js" | sha256sum --check --quiet; \
	echo "export APICRON_AXE_JS=$$(realpath $(AXE_DIR)/axe.min.js)"

.PHONY: deploy-check
deploy-check: ## check deploy/systemd/apicron.service with systemd-analyze verify and security (skips without systemd-analyze)
	$(GO) test -count=1 -run '^TestDeploy_' -v ./cmd/apicron/

.PHONY: clean
clean: ## remove what the targets build
	rm -f apicron apicron-bench openapi.json
	rm -rf .cache
