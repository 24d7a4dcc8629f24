package contentkey

import "testing"

func FuzzParseIV(f *testing.F) {
	for _, s := range []string{"0", "397304628502661816", "18446744073709551615", "18446744073709551616", "00012", "", "-1", "+1", " 1", "1e3", "397304628502661816</d:InitializationVector", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iv, err := ParseIV(s)
		if err != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("ParseIV accepted %q with %q at offset %d", s, s[i], i)
			}
		}
		back, err := ParseIV(iv.String())
		if err != nil || back != iv {
			t.Fatalf("ParseIV(%q) = %d, which does not round-trip through String (%q): %v", s, iv, iv.String(), err)
		}
		if trimmed := trimZeros(s); trimmed != iv.String() {
			t.Fatalf("ParseIV(%q) = %s, want %s", s, iv, trimmed)
		}
	})
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
