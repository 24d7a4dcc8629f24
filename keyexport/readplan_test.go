package keyexport_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
)

// TestReadPlan: the exports read from files make the plan NewPlan makes of
// their bytes, named by their paths; a file that cannot be read is the
// error, naming it.
func TestReadPlan(t *testing.T) {
	keys := filepath.Join(testvectors.Dir, "restore", "vod", "keys")
	paths := []string{filepath.Join(keys, "v3.json"), filepath.Join(keys, "v2-files-verbose.json")}
	var docs []keyexport.Document
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		docs = append(docs, keyexport.Document{Name: p, Data: data})
	}
	want, err := keyexport.NewPlan(docs, nil)
	require.NoError(t, err)
	got, err := keyexport.ReadPlan(paths, nil)
	require.NoError(t, err)
	require.True(t, want.Key.Equal(got.Key))
	want.Key, got.Key = contentkey.Key{}, contentkey.Key{} // a Key holds a func: not comparable
	require.Equal(t, want, got)

	missing := filepath.Join(keys, "none.json")
	_, err = keyexport.ReadPlan([]string{paths[0], missing}, nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, missing)
}
