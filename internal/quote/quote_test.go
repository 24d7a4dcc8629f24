package quote

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"a\x00b", `"a\x00b"`},
		{"\u200eX", `"\u200eX"`},
		{strings.Repeat("x", MaxLen), `"` + strings.Repeat("x", MaxLen) + `"`},
		{strings.Repeat("x", MaxLen+1), `"` + strings.Repeat("x", MaxLen) + `"...`},
		// A three-byte rune straddling the cut is left out whole.
		{strings.Repeat("x", MaxLen-1) + "日本", `"` + strings.Repeat("x", MaxLen-1) + `"...`},
		// Stray continuation bytes are not a rune to keep whole: the cut
		// backs off at most the length of one rune.
		{strings.Repeat("x", MaxLen-3) + "\x95\x95\x95\x95", `"` + strings.Repeat("x", MaxLen-3) + `"...`},
	} {
		if got := Input(tc.in); got != tc.want {
			t.Errorf("Input(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzInput checks that Input shows a prefix of its input, whole when short,
// and that cutting valid UTF-8 leaves valid UTF-8.
func FuzzInput(f *testing.F) {
	f.Add(strings.Repeat("é", 60))
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		got := Input(s)
		q, cut := strings.CutSuffix(got, "...")
		shown, err := strconv.Unquote(q)
		switch {
		case err != nil:
			t.Fatalf("Input(%q) = %s does not unquote: %v", s, got, err)
		case !strings.HasPrefix(s, shown):
			t.Fatalf("Input(%q) = %s is not a prefix", s, got)
		case cut != (len(s) > MaxLen), len(shown) > MaxLen, cut && len(shown) < MaxLen-utf8.UTFMax+1:
			t.Fatalf("Input(%q) = %s cut wrongly", s, got)
		case utf8.ValidString(s) && !utf8.ValidString(shown):
			t.Fatalf("Input(%q) = %s splits a rune", s, got)
		}
	})
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"a":                      "a",
		"  a\n\tb \r\n c  ":      "a b c",
		"SDK error:\n====\nRESP": "SDK error: ==== RESP",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
