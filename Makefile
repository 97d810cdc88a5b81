# cdnrefresh — make help lists the targets.
FUNCS := oss-refresh webhook report
GO    ?= go

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

demo: ## run oss-refresh on every events/ sample over FC's protocol against the local CDN emulator
	@mkdir -p bin
	$(GO) build -o bin/oss-refresh ./functions/oss-refresh
	$(GO) run ./cmd/cdnrefresh demo --function bin/oss-refresh --config events/config.yaml --events events

test: ## every test, offline, with the race detector
	$(GO) test -race -count=1 ./...

lint: ## gofmt, go vet, staticcheck, go mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

# A count, not a duration: a duration races the fuzz coordinator in Go 1.26
# (golang/go#75804: a spurious "context deadline exceeded" with no crasher).
FUZZTIME ?= 50000x
fuzz: ## run every fuzz target for FUZZTIME executions each (default 50000x)
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	  done; done

check: lint test ## everything CI runs

bench: ## benchmarks: mapping, planning, window, deploy-burst replay against the emulator
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./cmd/... | tee bench.out

CONFIG ?= config.yaml
build: ## one static linux/amd64 binary per function, named bootstrap (FC custom runtime, Lambda provided.al2023), with $(CONFIG) beside it
	@for f in $(FUNCS); do echo "build dist/$$f/bootstrap"; GOOS=linux GOARCH=amd64 CGO_ENABLED=0 \
	  $(GO) build -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	  if [ -f "$(CONFIG)" ]; then cp "$(CONFIG)" dist/$$f/config.yaml; fi; done
	$(GO) build -o bin/cdnrefresh ./cmd/cdnrefresh

clean: ## remove build output and the demo's spill
	rm -rf bin dist var

.PHONY: help demo test lint fuzz check bench build clean
