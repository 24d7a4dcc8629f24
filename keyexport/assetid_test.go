package keyexport

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The asset id each fixture export carries, and how it merges.
func TestAssetID(t *testing.T) {
	const vod = "nb:cid:UUID:dafdb389-050c-4edb-9c13-2455f0e1ed39"
	for _, tc := range []struct {
		docs       []string
		id, source string
	}{
		{[]string{"vod/keys/v2-files-minimal.json"}, vod, `ParentAssetId in "vod/keys/v2-files-minimal.json"`},
		{[]string{"vod/keys/v2-files-verbose.json"}, vod, "ParentAssetId"},
		{[]string{"vod/keys/keyvault-secret.json"}, vod, "Key Vault secret name"},
		{[]string{"vod/keys/v3.json"}, "", ""},
		// A strong id wins over the hint of a secret's name, whichever comes first.
		{[]string{"vod/keys/keyvault-secret.json", "vod/keys/v2-files-minimal.json"}, vod, "ParentAssetId"},
	} {
		var docs []Document
		for _, d := range tc.docs {
			docs = append(docs, fixtureDoc(t, d))
		}
		p, err := NewPlan(docs, nil)
		if err != nil && errors.Is(err, ErrIncomplete) {
			docs = append(docs, fixtureDoc(t, "vod/keys/keyfile.json"))
			p, err = NewPlan(docs, nil)
		}
		require.NoError(t, err, tc.docs)
		require.Equal(t, tc.id, p.AssetID, tc.docs)
		require.True(t, strings.Contains(p.AssetIDSource, tc.source), "%v: %q", tc.docs, p.AssetIDSource)

		// The manifest keeps it.
		m, err := p.Manifest()
		require.NoError(t, err)
		back, err := NewPlan([]Document{doc("m.json", m)}, nil)
		require.NoError(t, err)
		require.Equal(t, tc.id, back.AssetID)
	}
}

func TestAssetIDConflict(t *testing.T) {
	files := fixtureDoc(t, "vod/keys/v2-files-minimal.json")
	other := doc("other.json", []byte(strings.ReplaceAll(string(files.Data), "dafdb389-050c-4edb-9c13-2455f0e1ed39", "dafdb389-050c-4edb-9c13-2455f0e1ed40")))
	_, err := NewPlan([]Document{files, other, fixtureDoc(t, "vod/keys/keyfile.json")}, nil)
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "asset id", ce.Field)

	// Within one listing, too.
	data := strings.Replace(string(files.Data), "dafdb389-050c-4edb-9c13-2455f0e1ed39", "dafdb389-050c-4edb-9c13-2455f0e1ed40", 1)
	_, err = NewPlan([]Document{doc("mixed.json", []byte(data)), fixtureDoc(t, "vod/keys/keyfile.json")}, nil)
	require.ErrorIs(t, err, ErrConflict)
}
