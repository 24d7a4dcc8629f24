package envelope

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateFileName(t *testing.T) {
	for _, name := range []string{
		"BigBuckBunny.mp4",
		"REST_Example_File.wmv",
		"no-extension",
		"with space.mp4",
		"日本語.mp4",
		".hidden",
		strings.Repeat("a", 256) + ".mp4", // exactly 260
		strings.Repeat("é", 256) + ".mp4", // 260 characters, 516 bytes
		"tilde~under_score-dash.mp4",
	} {
		if err := ValidateFileName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}

	for _, tc := range []struct {
		name string
		want string // substring of the error
	}{
		{"", "empty"},
		{strings.Repeat("a", 257) + ".mp4", "261 characters, more than the limit of 260"},
		{strings.Repeat("é", 261), "261 characters"},
		{"a.b.mp4", "second '.' at offset 3"},
		{"..", "second '.' at offset 1"},
		{"bad\xffname.mp4", "byte 0xff at offset 3 is not valid UTF-8"},
		{"a!b.mp4", `character '!' at offset 1`},
		{"a*b.mp4", `character '*' at offset 1`},
		{"a'b.mp4", `character '\'' at offset 1`},
		{"a(b.mp4", `character '(' at offset 1`},
		{"a)b.mp4", `character ')' at offset 1`},
		{"a;b.mp4", `character ';' at offset 1`},
		{"a:b.mp4", `character ':' at offset 1`},
		{"a@b.mp4", `character '@' at offset 1`},
		{"a&b.mp4", `character '&' at offset 1`},
		{"a=b.mp4", `character '=' at offset 1`},
		{"a+b.mp4", `character '+' at offset 1`},
		{"a$b.mp4", `character '$' at offset 1`},
		{"a,b.mp4", `character ',' at offset 1`},
		{"a/b.mp4", `character '/' at offset 1`},
		{"a?b.mp4", `character '?' at offset 1`},
		{"a%20b.mp4", `character '%' at offset 1`},
		{"a#b.mp4", `character '#' at offset 1`},
		{"a[b.mp4", `character '[' at offset 1`},
		{"a]b.mp4", `character ']' at offset 1`},
		{`a"b.mp4`, `character '"' at offset 1`},
		{"日本!.mp4", `character '!' at offset 6`}, // byte offset
		{"a\nb.mp4", "control character U+000A at offset 1"},
		{"a\x00b.mp4", "control character U+0000 at offset 1"},
		{"a\tb.mp4", "control character U+0009 at offset 1"},
		{"a\x7fb.mp4", "control character U+007F at offset 1"},
		{"ab\u0085.mp4", "control character U+0085 at offset 2"},
		{".", "ends in '.'"},
		{"movie.", "ends in '.'"},
	} {
		err := ValidateFileName(tc.name)
		if !errors.Is(err, errFileName) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want errFileName containing %q", tc.name, err, tc.want)
		}
	}
}
