package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/inventory"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		v, file, name string
		ok            bool
	}{
		{"@in.url#asset-1", "in.url", "asset-1", true},
		{"@/a/b#c/in.url#asset-1", "/a/b#c/in.url", "asset-1", true},
		{"@in.url", "", "", false},
		{"@in.url#", "", "", false},
		{"@#asset-1", "", "", false},
		{"@a#b/c", "", "", false},
		{"in.url#asset-1", "", "", false},
		{"https://x/y?sv=1#frag", "", "", false},
	} {
		file, name, ok := inventory.ParseRef(tc.v)
		require.Equal(t, tc.ok, ok, tc.v)
		require.Equal(t, tc.file, file, tc.v)
		require.Equal(t, tc.name, name, tc.v)
	}
}

// TestEnds: a batch line names a container of a directory by its path and
// one of an account by "@FILE#NAME", never by its SAS; a URL given as is
// goes to a 0600 file beside the batch, which is kept when it holds the
// same URL and refused when it holds another.
func TestEnds(t *testing.T) {
	dir := t.TempDir()
	d, err := inventory.NewEnd("in", "acct", "")
	require.NoError(t, err)
	require.True(t, filepath.IsAbs(d.Dir))
	require.Equal(t, filepath.Join(d.Dir, "asset-1"), d.Ref("asset-1"))
	const sas = "https://acct.blob.core.windows.net/?sv=1&sig=SECRET"
	f, err := inventory.NewEnd("in", sas, "in.url")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(f.Ref("asset-1"), "@/"))
	require.True(t, strings.HasSuffix(f.Ref("asset-1"), "/in.url#asset-1"))
	u, err := inventory.NewEnd("dest", sas, "")
	require.NoError(t, err)
	require.Equal(t, "@dest.url#asset-1", u.Ref("asset-1"))
	in, out := inventory.EndRefs(d, u)("asset-1")
	require.Equal(t, d.Ref("asset-1"), in)
	require.Equal(t, u.Ref("asset-1"), out)
	require.True(t, inventory.SameAccount(f, u))
	require.False(t, inventory.SameAccount(d, u))

	require.NoError(t, u.CheckURLFile(dir, false))
	p, err := u.WriteURLFile(dir, false)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "dest.url"), p)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	_, err = u.WriteURLFile(dir, false) // the same URL: kept
	require.NoError(t, err)
	other, err := inventory.NewEnd("dest", sas+"2", "")
	require.NoError(t, err)
	err = other.CheckURLFile(dir, false)
	require.ErrorContains(t, err, "another URL")
	require.NotContains(t, err.Error(), "SECRET")
	require.NoError(t, other.CheckURLFile(dir, true))
	p, err = f.WriteURLFile(dir, false) // read from a file: none written
	require.NoError(t, err)
	require.Empty(t, p)
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"@in.url#asset-1", "@#", "@a#b#c", "@/x#y/z", "", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		file, name, ok := inventory.ParseRef(v)
		if !ok {
			return
		}
		if "@"+file+"#"+name != v || file == "" || name == "" || strings.ContainsAny(name, "#/\\") {
			t.Fatalf("%q split into %q and %q", v, file, name)
		}
	})
}

// TestReadRef: "@FILE#NAME" is the container NAME of FILE's account, made
// by the function given; a file that holds no URL is refused without
// quoting it; anything else is left alone, unread.
func TestReadRef(t *testing.T) {
	dir := t.TempDir()
	acct := filepath.Join(dir, "in.url")
	require.NoError(t, os.WriteFile(acct, []byte("https://acct.blob.core.windows.net/?sig=SECRET\n"), 0o600))
	notURL := filepath.Join(dir, "dir.url")
	require.NoError(t, os.WriteFile(notURL, []byte("some/dir?sig=SECRET\n"), 0o600))
	join := func(a, c string) (string, error) { return a + "|" + c, nil }
	u, ok, err := inventory.ReadRef("@"+acct+"#asset-1", join)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "https://acct.blob.core.windows.net/?sig=SECRET|asset-1", u)
	_, ok, err = inventory.ReadRef("@"+notURL+"#asset-1", join)
	require.True(t, ok)
	require.ErrorContains(t, err, "holds no account URL")
	require.NotContains(t, err.Error(), "SECRET")
	for _, v := range []string{"@" + acct, "https://h/c", "dir"} {
		_, ok, err := inventory.ReadRef(v, nil)
		require.False(t, ok, v)
		require.NoError(t, err, v)
	}
}
