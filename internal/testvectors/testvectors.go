// Package testvectors loads the known-answer vector files under the
// repository's testdata/ directory for the packages' tests.
package testvectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the absolute path of the repository's testdata directory.
var Dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}()

// Read returns the contents of testdata/name, failing the test if it is missing.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Dir, name))
	if err != nil {
		tb.Fatalf("reading vector file: %v", err)
	}
	return b
}

// Load decodes testdata/name into v, failing the test on any error.
func Load(tb testing.TB, name string, v any) {
	tb.Helper()
	if err := json.Unmarshal(Read(tb, name), v); err != nil {
		tb.Fatalf("decoding %s: %v", name, err)
	}
}
