package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func names(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestPlace(t *testing.T) {
	for _, noLinks := range []bool{false, true} {
		name := "links"
		if noLinks {
			name = "no links"
		}
		t.Run(name, func(t *testing.T) {
			if noLinks {
				link = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
				t.Cleanup(func() { link = os.Link })
			}
			dir := t.TempDir()
			tmp, dst := filepath.Join(dir, "tmp"), filepath.Join(dir, "dst")

			write(t, tmp, "one")
			require.NoError(t, Place(tmp, dst, false))
			require.Equal(t, "one", read(t, dst))
			require.Equal(t, []string{"dst"}, names(t, dir))

			write(t, tmp, "two")
			err := Place(tmp, dst, false)
			require.ErrorIs(t, err, fs.ErrExist)
			require.Equal(t, "one", read(t, dst), "replaced without overwrite")
			require.Equal(t, "two", read(t, tmp), "tmp is the caller's to remove")

			require.NoError(t, Place(tmp, dst, true))
			require.Equal(t, "two", read(t, dst))
			require.Equal(t, []string{"dst"}, names(t, dir))
		})
	}
}

func TestWritePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	require.NoError(t, WritePrivate(path, []byte("one"), false))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	require.ErrorIs(t, WritePrivate(path, []byte("two"), false), fs.ErrExist)
	require.Equal(t, "one", read(t, path))
	require.NoError(t, WritePrivate(path, []byte("three"), true))
	require.Equal(t, "three", read(t, path))
	require.Equal(t, []string{"key"}, names(t, dir), "temporary files left behind")

	require.Error(t, WritePrivate(filepath.Join(dir, "missing", "key"), []byte("x"), false))
	require.Equal(t, []string{"key"}, names(t, dir))
}

func TestNotAnInput(t *testing.T) {
	dir := t.TempDir()
	key, other, alias := filepath.Join(dir, "key.json"), filepath.Join(dir, "other"), filepath.Join(dir, "alias")
	write(t, key, "k")
	write(t, other, "o")
	require.NoError(t, os.Link(key, alias))
	inputs := []Input{{"--asset-file", ""}, {"--key-file", key}}

	err := NotAnInput(key, inputs...)
	require.ErrorContains(t, err, "--key-file "+key)
	// Another name for the same file is the same file.
	require.ErrorContains(t, NotAnInput(alias, inputs...), "--key-file")
	require.NoError(t, NotAnInput(other, inputs...))
	require.NoError(t, NotAnInput(filepath.Join(dir, "new"), inputs...))
	// An input that does not exist is its reader's problem, not a match.
	require.NoError(t, NotAnInput(other, Input{"--key-file", filepath.Join(dir, "missing")}))
	require.Equal(t, "k", read(t, key))
}
