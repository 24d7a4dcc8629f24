package contentkey

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseIVErrorMessages(t *testing.T) {
	tests := []struct {
		in   string
		want string // a substring the error must contain
	}{
		{"397304628502661816</d:InitializationVector", `'<' at offset 18`},
		{"", "empty"},
		{"-1", `'-' at offset 0`},
		{"12 ", `' ' at offset 2`},
		{"1２", `'２' at offset 1`},
		{"18446744073709551616", "overflows 64 bits"},
		{"99999999999999999999", "overflows 64 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseIV(tt.in)
			require.ErrorIs(t, err, ErrInvalidIV)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestIVBoundaries(t *testing.T) {
	for _, v := range []IV{0, 1, 9, 10, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		got, err := ParseIV(v.String())
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
	// Every value just past 2^64-1 by one digit's worth must fail.
	_, err := ParseIV("18446744073709551620")
	require.ErrorIs(t, err, ErrInvalidIV)
}

func TestIVJSON(t *testing.T) {
	type file struct {
		InitializationVector IV
	}
	b, err := json.Marshal(file{397304628502661816})
	require.NoError(t, err)
	require.JSONEq(t, `{"InitializationVector":"397304628502661816"}`, string(b))

	var f file
	require.NoError(t, json.Unmarshal([]byte(`{"InitializationVector":"18446744073709551615"}`), &f))
	require.Equal(t, IV(1<<64-1), f.InitializationVector)

	err = json.Unmarshal([]byte(`{"InitializationVector":"397304628502661816</d:InitializationVector"}`), &f)
	require.ErrorIs(t, err, ErrInvalidIV)
}

// The expected bytes are Python's (397304628502661816).to_bytes(8, "big").
func TestIVBytes(t *testing.T) {
	require.Equal(t, [8]byte{0x05, 0x83, 0x82, 0x74, 0x61, 0x85, 0x0a, 0xb8}, IV(397304628502661816).Bytes())
}

func TestNewIV(t *testing.T) {
	seen := map[IV]bool{}
	for range 64 {
		iv, err := NewIV()
		require.NoError(t, err)
		require.False(t, seen[iv], "NewIV repeated a value")
		seen[iv] = true
	}
}
