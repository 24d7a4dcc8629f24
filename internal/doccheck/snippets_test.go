package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmes are the documents whose ```go blocks must compile.
var readmes = []string{"../../README.md", "../../azblobcrypt/README.md", "../../bench/README.md"}

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestSnippetsCompile checks that every Go snippet of the READMEs appears,
// line for line (indentation aside), inside the examples in this package's
// examples_test.go, which the go command compiles with the tests. Edit a
// snippet in both places.
func TestSnippetsCompile(t *testing.T) {
	src, err := os.ReadFile("examples_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := normalize(string(src))
	n := 0
	for _, readme := range readmes {
		doc, err := os.ReadFile(readme)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goBlock.FindAllStringSubmatch(string(doc), -1) {
			n++
			if !strings.Contains(code, normalize(m[1])) {
				t.Errorf("%s: this Go snippet is not in internal/doccheck/examples_test.go, so nothing compiles it:\n%s", filepath.Base(filepath.Dir(readme))+"/"+filepath.Base(readme), m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("no Go snippets found: the README paths are wrong")
	}
}

// normalize drops indentation and blank lines, so that a snippet matches
// the same lines inside a function body.
func normalize(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
