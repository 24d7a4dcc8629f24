package parse

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestGUID(t *testing.T) {
	const g = "316d14d4-b603-4d90-b8db-0fede8aa48f8"
	want := uuid.MustParse(g)
	for _, s := range []string{g, strings.ToUpper(g)} {
		got, err := GUID("nb:kid:UUID:"+s, len("nb:kid:UUID:"))
		if err != nil || got != want {
			t.Errorf("GUID(%q) = %x, %v", s, got, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "want a 36-character GUID, got 0 characters"},
		{g + " ", "got 37 characters"},
		{"316d14d4x" + g[9:], "want '-' at offset 20, got 'x'"},
		{"316d14d4-b603-4d90-b8db-0fede8aa48fg", "'g' at offset 47 is not a hex digit"},
		{"g16d14d4-b603-4d90-b8db-0fede8aa48f8", "'g' at offset 12 is not a hex digit"},
		{"{16d14d4-b603-4d90-b8db-0fede8aa48f}", "'{' at offset 12"},
		{"31\u00e9d14d-b603-4d90-b8db-0fede8aa48f8", "'é' at offset 14"},
	} {
		_, err := GUID("nb:kid:UUID:"+tc.in, len("nb:kid:UUID:"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("GUID(%q): %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		in  string
		max uint64
		n   uint64
	}{
		{"0", 0, 0}, {"007", 7, 7}, {"18446744073709551615", math.MaxUint64, math.MaxUint64},
		{"9223372036854775807", math.MaxInt64, math.MaxInt64},
	} {
		n, err := Decimal(tc.in, tc.max)
		if err != nil || n != tc.n {
			t.Errorf("Decimal(%q, %d) = %d, %v", tc.in, tc.max, n, err)
		}
	}
	for _, tc := range []struct {
		in   string
		max  uint64
		want string
	}{
		{"", 10, "empty"},
		{"-1", 10, "'-' at offset 0 is not a decimal digit"},
		{"1 ", 10, "' ' at offset 1"},
		{"1２", 100, "'２' at offset 1"},
		{"1e3", math.MaxUint64, "'e' at offset 1"},
		{"8", 7, "larger than 7"},
		{"9223372036854775808", math.MaxInt64, "larger than 9223372036854775807"},
		{"18446744073709551616", math.MaxUint64, "overflows 64 bits"},
		{"99999999999999999999", math.MaxUint64, "overflows 64 bits"},
	} {
		_, err := Decimal(tc.in, tc.max)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decimal(%q, %d): %v, want an error containing %q", tc.in, tc.max, err, tc.want)
		}
	}
}

// FuzzGUID checks GUID against uuid.Parse on the 36-character form, the
// only form both accept.
func FuzzGUID(f *testing.F) {
	f.Add("316d14d4-b603-4d90-b8db-0fede8aa48f8")
	f.Add("{16d14d4-b603-4d90-b8db-0fede8aa48f}")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := GUID(s, 0)
		want, werr := uuid.Parse(s)
		if len(s) != GUIDLen {
			if err == nil {
				t.Fatalf("accepted %q of length %d", s, len(s))
			}
			return
		}
		if (err == nil) != (werr == nil) || err == nil && got != want {
			t.Fatalf("GUID(%q) = %x, %v; uuid.Parse = %x, %v", s, got, err, want, werr)
		}
	})
}

// FuzzDecimal checks Decimal against strconv.ParseUint, which also takes
// "0x", "_" and signs: Decimal must accept exactly the all-digit subset.
func FuzzDecimal(f *testing.F) {
	f.Add("397304628502661816", uint64(math.MaxUint64))
	f.Add("+1", uint64(10))
	f.Fuzz(func(t *testing.T, s string, max uint64) {
		n, err := Decimal(s, max)
		digits := s != "" && strings.Trim(s, "0123456789") == ""
		want, werr := strconv.ParseUint(s, 10, 64)
		ok := digits && werr == nil && want <= max
		if (err == nil) != ok || ok && n != want {
			t.Fatalf("Decimal(%q, %d) = %d, %v; ParseUint = %d, %v", s, max, n, err, want, werr)
		}
	})
}
