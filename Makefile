GO ?= go
PROTOC_GEN_GO_VERSION := v1.36.11
BIN := bin/strom

.PHONY: all build test demo bench lint proto verify-proto tools clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/strom

test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null | grep -v '\.pb\.go$$'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 15m ./actors/... ./stream/... ./operators/... ./codec/...

# demo runs the live demo job for about half a minute (Ctrl-C stops it sooner).
demo: build
	./$(BIN) run demo --parallelism 2 --duration 30s

bench: build
	./$(BIN) bench micro

lint: verify-proto
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)

# proto regenerates protos/*.pb.go; needs protoc (Debian: protobuf-compiler).
proto: tools
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I protos --go_out=protos --go_opt=paths=source_relative protos/*.proto
	cd protos && sha256sum *.proto > proto.sum

tools:
	@command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler)
	@test -x "$$($(GO) env GOPATH)/bin/protoc-gen-go" && "$$($(GO) env GOPATH)/bin/protoc-gen-go" --version | grep -q $(PROTOC_GEN_GO_VERSION) || GOFLAGS= $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

# verify-proto fails when the committed generated code is stale.
verify-proto: proto
	git diff --exit-code -- protos/

clean:
	rm -rf bin
