# cdnrefresh — make help lists the targets.
# Every functions/<name> is a deployable function: s.yaml and template.yml name it.
FUNCS := $(sort $(notdir $(wildcard functions/*)))
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

check: lint test deploy-check ## lint, test and deploy-check (CI also runs a bounded make fuzz)

bench: ## benchmarks: mapping, planning, window, deploy-burst replay against the emulator
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./cmd/... | tee bench.out

CONFIG ?= config.yaml
LAMBDA_ARCH := arm64
# cdn-events is Function Compute's alone: Lambda has no CDN event trigger.
LAMBDA_FUNCS := oss-refresh report webhook
on_lambda = case " $(LAMBDA_FUNCS) " in *" $$f "*) true;; *) false;; esac
# lambda.norpc leaves out aws-lambda-go's RPC mode, which only the retired go1.x
# runtime used (provided.al2023 and FC speak HTTP): net/rpc's reflection keeps
# every method of every reachable type alive (webhook: 22.5 MB, not 12.6 MB).
BUILD := GOOS=linux CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -buildvcs=false -ldflags='-s -w -buildid='
build: ## static bootstraps: dist/build/fc/<fn>/bootstrap (linux/amd64, FC custom runtime) and dist/build/lambda/<fn>/bootstrap (linux/arm64, Lambda provided.al2023); bin/cdnrefresh
	@for f in $(FUNCS); do echo "build $$f"; \
	  GOARCH=amd64 $(BUILD) -o dist/build/fc/$$f/bootstrap ./functions/$$f || exit 1; \
	  if $(on_lambda); then GOARCH=$(LAMBDA_ARCH) $(BUILD) -o dist/build/lambda/$$f/bootstrap ./functions/$$f || exit 1; fi; done
	$(GO) build -o bin/cdnrefresh ./cmd/cdnrefresh

package: build ## dist/fc/<fn>.zip and dist/lambda/<fn>.zip (bootstrap + $(CONFIG)), reproducible, sizes printed
	@test -f "$(CONFIG)" || { echo "package: no $(CONFIG): cp deploy/config.yaml $(CONFIG), then edit its rules"; exit 1; }
	@for f in $(FUNCS); do for p in fc lambda; do \
	  if [ $$p = lambda ] && ! $(on_lambda); then continue; fi; \
	  bin/cdnrefresh package -o dist/$$p/$$f.zip bootstrap=dist/build/$$p/$$f/bootstrap config.yaml=$(CONFIG) || exit 1; \
	done; done

deploy-check: ## offline: s.yaml, deploy/lambda.s.yaml, deploy/ros.yaml, template.yml and the config against each other and the code; prints what a deploy creates
	@$(GO) run ./cmd/cdnrefresh deploy-check $(if $(wildcard $(CONFIG)),--config $(CONFIG))

clean: ## remove build output and the demo's spill
	rm -rf bin dist var

.PHONY: help demo test lint fuzz check bench build package deploy-check clean
