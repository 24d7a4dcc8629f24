package livearchive_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

const fixtureDir = "../testdata/livearchive"

// expected is testdata/livearchive/expected.json, written by gen_livearchive.py.
type expected struct {
	Tracks map[string]struct {
		Source    string   `json:"source"`
		TimeScale uint64   `json:"timescale"`
		Clock     uint64   `json:"clock"`
		Fragments []string `json:"fragments"`
	} `json:"tracks"`
}

func loadExpected(t testing.TB) expected {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "expected.json"))
	require.NoError(t, err)
	var e expected
	require.NoError(t, json.Unmarshal(data, &e))
	require.Len(t, e.Tracks, 4)
	return e
}

// archive is the fixture live archive: its manifests and tracks.
type archive struct {
	m      *livearchive.Manifest
	ism    *livearchive.ServerManifest
	tracks []livearchive.Track
}

func loadArchive(t testing.TB) archive {
	f, err := os.Open(filepath.Join(fixtureDir, "archive", "live.ismc"))
	require.NoError(t, err)
	defer f.Close()
	m, err := livearchive.ParseManifest(f)
	require.NoError(t, err)
	g, err := os.Open(filepath.Join(fixtureDir, "archive", "live.ism"))
	require.NoError(t, err)
	defer g.Close()
	ism, err := livearchive.ParseServerManifest(g)
	require.NoError(t, err)
	tracks, err := m.Tracks(ism)
	require.NoError(t, err)
	return archive{m, ism, tracks}
}

func trackDir(prefix string) string { return filepath.Join(fixtureDir, "archive", prefix) }
