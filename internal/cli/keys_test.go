package cli

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
)

// TestDurationFlag: the default when not given, the bounds refused as
// usage, naming the flag.
func TestDurationFlag(t *testing.T) {
	parse := func(args ...string) (*time.Duration, error) {
		fs := NewFlags(&Env{Program: "amscrypt"}, "cmd", "")
		d := fs.Duration("give-up-after", time.Minute, time.Second, time.Hour, "")
		return d, fs.Parse(args)
	}
	d, err := parse()
	require.NoError(t, err)
	require.Equal(t, time.Minute, *d)
	d, err = parse("--give-up-after", "3s")
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, *d)
	for _, v := range []string{"0s", "999ms", "2h", "-1s", "ten"} {
		_, err := parse("--give-up-after", v)
		require.ErrorAs(t, err, new(UsageError), v)
		require.ErrorContains(t, err, "--give-up-after: ", v)
	}
}

// TestKeyFlags: --keys makes a plan without a private key unless a flag
// names one; both private-key flags at once, or neither where one is
// needed, are usage errors.
func TestKeyFlags(t *testing.T) {
	var out bytes.Buffer
	e := &Env{Program: "amscrypt", Stdout: &out, Getenv: func(string) string { return "" }}
	fs := NewFlags(e, "cmd", "")
	k := fs.KeyExports()
	v3 := filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json")
	require.NoError(t, fs.Parse([]string{"--keys", v3}))
	require.False(t, k.Given())
	plan, err := k.Plan(e, k.Keys)
	require.NoError(t, err)
	require.Len(t, plan.Entries, 12)
	_, err = k.Read(e)
	require.ErrorAs(t, err, new(UsageError))

	fs = NewFlags(e, "cmd", "")
	k = fs.KeyExports()
	require.NoError(t, fs.Parse([]string{"--pfx", "a.pfx", "--private-key", "b.pem"}))
	_, err = k.Plan(e, []string{v3})
	require.ErrorAs(t, err, new(UsageError))
}

// TestIVFlag: nil until given, the decimal IV when given, and a malformed
// one a usage error naming the flag.
func TestIVFlag(t *testing.T) {
	parse := func(args ...string) (*IVFlag, error) {
		fs := NewFlags(&Env{Program: "amscrypt"}, "cmd", "")
		iv := fs.IV("iv", "")
		return iv, fs.Parse(args)
	}
	iv, err := parse()
	require.NoError(t, err)
	require.Nil(t, iv.IV)
	iv, err = parse("--iv", "18446744073709551615")
	require.NoError(t, err)
	require.EqualValues(t, uint64(18446744073709551615), *iv.IV)
	for _, v := range []string{"-1", "0x10", "18446744073709551616", "1e3"} {
		_, err := parse("--iv", v)
		require.ErrorAs(t, err, new(UsageError), v)
		require.ErrorContains(t, err, "--iv: ", v)
	}
}
