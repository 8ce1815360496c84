package protos

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh fails when a .proto file changed after the Go
// code was last generated: `make proto` regenerates the code and records
// each .proto file's digest in proto.sum. (`make verify-proto` also
// compares the generated code itself, where protoc is installed.)
func TestGeneratedCodeIsFresh(t *testing.T) {
	f, err := os.Open("proto.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recorded := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("malformed proto.sum line %q", sc.Text())
		}
		recorded[name] = sum
	}
	files, _ := filepath.Glob("*.proto")
	if len(files) == 0 {
		t.Fatal("no .proto files")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if recorded[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s changed since its Go code was generated: run make proto", name)
		}
		gen := strings.TrimSuffix(name, ".proto") + ".pb.go"
		if _, err := os.Stat(gen); err != nil {
			t.Errorf("%s has no generated %s", name, gen)
		}
	}
}
