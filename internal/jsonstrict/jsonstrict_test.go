package jsonstrict

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		doc  string
		want string // "" means no error
	}{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "duplicate JSON member $.a"},
		{`{"Key":"x","Id":"y","Key":"z"}`, "duplicate JSON member $.Key"},
		{`{"a":{"b":1},"c":{"b":2}}`, ""},
		{`{"a":{"b":1,"b":2}}`, "duplicate JSON member $.a.b"},
		{`{"value":[{"Name":"x"},{"Name":"y","Name":"z"}]}`, "duplicate JSON member $.value[1].Name"},
		{`[[1,2],[3,{"q":1,"q":1}]]`, "duplicate JSON member $[1][1].q"},
		{`{"a":[],"b":[1],"a":0}`, "duplicate JSON member $.a"},
		{`{"a b":1,"a b":1}`, `duplicate JSON member $["a b"]`},
		{`{"a":1,"A":2}`, ""}, // encoding/json would fold these; the decoders here refuse unknown case separately
		{`{"a":1,`, ""},       // syntax errors are the caller's decoder's to report
		{`{"d":{"results":[{"x":1},{"x":1}]}}`, ""},
		{`{"a":{"x":[{"y":1}]},"a":1}`, "duplicate JSON member $.a"},
	} {
		err := Check([]byte(tt.doc))
		require.NoError(t, Check([]byte(`{"Movie.mp4":"1","movie.mp4":"2"}`)), "exact names that differ in case are distinct")
		if tt.want == "" {
			require.NoError(t, err, tt.doc)
			continue
		}
		require.ErrorIs(t, err, ErrDuplicate, tt.doc)
		require.EqualError(t, err, tt.want, tt.doc)
	}
}

func TestCheckFold(t *testing.T) {
	require.NoError(t, CheckFold([]byte(`{"Key":"a","Id":"b"}`)))
	for _, doc := range []string{`{"Key":"a","key":"b"}`, `{"k":1,"\u212a":2}`, `{"s":1,"\u017f":2}`} {
		require.ErrorIs(t, CheckFold([]byte(doc)), ErrDuplicate, doc)
		require.NoError(t, Check([]byte(doc)), doc)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[{"b":1}],"c":{"d":[]}}`, `[1,[2,{"x":{}}]]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Check(data) // must not panic, whatever the input
		_ = CheckFold(data)
	})
}

func TestDecode(t *testing.T) {
	type doc struct {
		A string `json:"a"`
	}
	var d doc
	require.NoError(t, Decode([]byte(" {\"a\":\"x\"}\n"), &d))
	require.Equal(t, "x", d.A)
	for in, want := range map[string]string{
		`{"a":"x","A":"y"}`: "duplicate JSON member $.A",
		`{"a":"x","b":1}`:   `json: unknown field "b"`,
		`{"a":"x"} {}`:      "data after the JSON value",
		`{"a":"x"}}`:        "data after the JSON value",
		`{"a":`:             "unexpected EOF",
	} {
		require.EqualError(t, Decode([]byte(in), &d), want, in)
	}
}

// TestDecodeQuotesNothing: Decode's errors name offsets, members and kinds,
// never a character or a number of the document, which may be a key's.
func TestDecodeQuotesNothing(t *testing.T) {
	var v struct{ Key string }
	for doc, want := range map[string]string{
		`{"Key": Zk9v}`:         "not valid JSON at offset 8",
		`{"Key": 987654321}`:    "member Key at offset 17: a JSON number, want string",
		"{\"Key\": \"a\x01b\"}": "not valid JSON at offset 10",
		`[123456789]`:           "a JSON array at offset 1, want struct { Key string }",
		`{"Key": "a"} Zk9v`:     "data after the JSON value",
	} {
		err := Decode([]byte(doc), &v)
		if err == nil || err.Error() != want {
			t.Errorf("Decode(%q) = %v, want %q", doc, err, want)
		}
		for _, secret := range []string{"Zk9v", "'Z'", "987654321", "123456789", "\\x01"} {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("Decode(%q) error %q quotes %q", doc, err, secret)
			}
		}
	}
}
