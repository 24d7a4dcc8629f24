package livearchive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

// memAsset is the fixture archive's files in memory under root, as an
// Asset reads them: the files of a directory "<prefix>" with a "=" in its
// name are that track's fragblobs, as a key export's entries name them.
type memAsset struct {
	files  map[string][]byte
	broken map[string]error // Open fails
	other  []string         // paths the asset holds that Open cannot read
	open   atomic.Int64     // files opened and not closed
}

func fixtureAsset(t testing.TB, root string) *memAsset {
	m := &memAsset{files: map[string][]byte{}, broken: map[string]error{}}
	dir := filepath.Join(fixtureDir, "archive")
	require.NoError(t, fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dir, p))
		m.files[path.Join(root, p)] = data
		return err
	}))
	return m
}

// rename moves every file under prefix from to prefix to.
func (m *memAsset) rename(from, to string) {
	for p, data := range m.files {
		if rest, ok := strings.CutPrefix(p, from+"/"); ok {
			delete(m.files, p)
			m.files[to+"/"+rest] = data
		}
	}
}

func (m *memAsset) asset() *livearchive.Asset {
	a := &livearchive.Asset{Paths: m.other, Open: m.Open}
	for p, data := range m.files {
		a.Paths = append(a.Paths, p)
		f := livearchive.File{Path: p, Size: int64(len(data)), Tag: fmt.Sprintf("etag-%d", len(data))}
		if d := path.Dir(p); strings.Contains(path.Base(d), "=") {
			f.Track = d
		}
		a.Files = append(a.Files, f)
	}
	return a
}

func (m *memAsset) Open(_ context.Context, p string) (livearchive.Blob, io.Closer, error) {
	if err := m.broken[p]; err != nil {
		return nil, nil, err
	}
	data, ok := m.files[p]
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	m.open.Add(1)
	return bytes.NewReader(data), closeFunc(func() { m.open.Add(-1) }), nil
}

type closeFunc func()

func (f closeFunc) Close() error { f(); return nil }

func byPrefix(tracks []*livearchive.StitchedTrack) map[string]*livearchive.StitchedTrack {
	out := map[string]*livearchive.StitchedTrack{}
	for _, t := range tracks {
		out[t.Prefix] = t
	}
	return out
}

// TestAssetTracks: every track of the fixture asset, under a directory,
// is found, paired through the .ism with its StreamIndex, on the
// archive's common origin, and stitches to what the Stitcher makes of the
// track's plaintext directory; every file opened is closed.
func TestAssetTracks(t *testing.T) {
	ctx := context.Background()
	m := fixtureAsset(t, "asset")
	tracks := m.asset().Tracks(ctx)
	require.Zero(t, m.open.Load(), "the manifests closed")
	var names []string
	for _, tr := range tracks {
		names = append(names, tr.Name)
	}
	require.Equal(t, []string{"asset/audio_eng=32000.mp4", "asset/audio_fra=32000.mp4", "asset/text=1000.mp4", "asset/video=48000.mp4"}, names)

	arch := loadArchive(t)
	want := map[string]struct{ mime, typ string }{
		"video=48000": {"video/mp4", "video"}, "audio_eng=32000": {"audio/mp4", "audio"},
		"audio_fra=32000": {"audio/mp4", "audio"}, "text=1000": {"application/mp4", "text"},
	}
	for _, ref := range arch.tracks {
		tr := byPrefix(tracks)["asset/"+ref.Prefix]
		require.NotNil(t, tr, ref.Prefix)
		require.NoError(t, tr.Err)
		require.Equal(t, want[ref.Prefix].typ, tr.Type)
		require.Equal(t, want[ref.Prefix].mime, tr.MimeType())
		origin := arch.m.Origin(ref.Stream.TimeScale)
		require.Equal(t, origin, tr.Origin)
		require.Len(t, tr.Fragblobs, len(tr.Stitcher.Names()))
		for i := 1; i < len(tr.Fragblobs); i++ {
			require.Less(t, tr.Fragblobs[i-1].Path, tr.Fragblobs[i].Path, "sorted by path")
		}
		var got bytes.Buffer
		_, err := tr.Stitcher.Stream(ctx, &got)
		require.NoError(t, err)
		plain, _ := stitch(t, livearchive.FS(os.DirFS(trackDir(ref.Prefix))), ref, &livearchive.Options{Origin: origin})
		require.Equal(t, plain, got.Bytes(), ref.Prefix)
	}
	require.Zero(t, m.open.Load(), "the fragblobs closed")
	require.Nil(t, (&livearchive.Asset{Files: []livearchive.File{{Path: "live.ismc"}}}).Tracks(ctx), "no fragblob, no track")
}

// TestAssetTracksPairing: how the manifests an asset holds pair its tracks
// and why a track cannot be stitched.
func TestAssetTracksPairing(t *testing.T) {
	errRead := errors.New("read failed")
	for _, tc := range []struct {
		name string
		edit func(m *memAsset)
		want map[string]string // prefix: error contained, "" for none
	}{
		{"without the .ism, by AMS's prefixes", func(m *memAsset) { delete(m.files, "live.ism") },
			map[string]string{"video=48000": "", "text=1000": ""}},
		{"a prefix only the .ism names", func(m *memAsset) {
			m.rename("video=48000", "video_hd=1")
			m.files["live.ism"] = bytes.Replace(m.files["live.ism"], []byte(`src="video=48000"`), []byte(`src="video_hd=1"`), 1)
		}, map[string]string{"video_hd=1": "", "audio_eng=32000": ""}},
		{"a prefix no manifest names", func(m *memAsset) {
			m.rename("video=48000", "video_hd=1")
			delete(m.files, "live.ism")
		}, map[string]string{"video_hd=1": "track video_hd=1 cannot be stitched: the asset has no client manifest (.ismc) whose timeline names it", "text=1000": ""}},
		{"an .ism that pairs nothing falls back on the .ismc", func(m *memAsset) {
			m.files["live.ism"] = bytes.Replace(m.files["live.ism"], []byte(`systemBitrate="48000"`), []byte(`systemBitrate="1"`), 1)
		}, map[string]string{"video=48000": "", "audio_fra=32000": ""}},
		{"the .ism's problem reported", func(m *memAsset) {
			m.rename("video=48000", "video_hd=1")
			m.files["live.ism"] = bytes.Replace(m.files["live.ism"], []byte(`systemBitrate="48000"`), []byte(`systemBitrate="1"`), 1)
		}, map[string]string{"video_hd=1": "whose timeline names it; server manifest live.ism: livearchive: bad manifest: .ism track"}},
		{"no .ismc", func(m *memAsset) { delete(m.files, "live.ismc") },
			map[string]string{"video=48000": "track video=48000 cannot be stitched: the asset has no client manifest (.ismc), whose timeline stitching needs"}},
		{"a bad .ismc", func(m *memAsset) { m.files["live.ismc"] = []byte("<x/>") },
			map[string]string{"text=1000": "whose timeline names it; client manifest live.ismc: livearchive: bad manifest: root element is"}},
		{"an .ismc that cannot be read", func(m *memAsset) { m.broken["live.ismc"] = errRead },
			map[string]string{"audio_eng=32000": "client manifest live.ismc: read failed"}},
		{"the stitched name taken", func(m *memAsset) { m.other = []string{"text=1000.mp4"} },
			map[string]string{"text=1000": "the asset holds a file named text=1000.mp4 already", "video=48000": ""}},
		{"no header", func(m *memAsset) { delete(m.files, "text=1000/header") },
			map[string]string{"text=1000": `livearchive: bad fragblob: track "text=1000" has no header fragblob`, "video=48000": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fixtureAsset(t, "")
			tc.edit(m)
			tracks := byPrefix(m.asset().Tracks(context.Background()))
			for prefix, want := range tc.want {
				tr := tracks[prefix]
				require.NotNil(t, tr, prefix)
				if want == "" {
					require.NoError(t, tr.Err, prefix)
					require.NotNil(t, tr.Stitcher, prefix)
					continue
				}
				require.ErrorContains(t, tr.Err, want, prefix)
				require.Nil(t, tr.Stitcher, prefix)
			}
		})
	}
}

// TestAssetFragblobErrors: a fragblob that cannot be opened fails the
// layout with its path and the opener's error.
func TestAssetFragblobErrors(t *testing.T) {
	ctx := context.Background()
	m := fixtureAsset(t, "")
	errRead := errors.New("read failed")
	m.broken["video=48000/36020000000"] = errRead
	tr := byPrefix(m.asset().Tracks(ctx))["video=48000"]
	require.NoError(t, tr.Err)
	_, err := tr.Stitcher.Layout(ctx)
	require.ErrorIs(t, err, errRead)
	require.EqualError(t, err, "livearchive: fragblob video=48000/36020000000: read failed")
}

// TestStitchedTrackTag: the tag names the stitched name and every
// fragblob's path, size and tag.
func TestStitchedTrackTag(t *testing.T) {
	tr := &livearchive.StitchedTrack{Name: "v=1.mp4", Fragblobs: []livearchive.File{{Path: "v=1/header", Size: 10, Tag: "a"}, {Path: "v=1/20", Size: 5}}}
	tag := tr.Tag()
	require.Len(t, tag, 32)
	require.Equal(t, tag, tr.Tag())
	for _, edit := range []func(*livearchive.StitchedTrack){
		func(tr *livearchive.StitchedTrack) { tr.Name = "v=2.mp4" },
		func(tr *livearchive.StitchedTrack) { tr.Fragblobs[0].Tag = "b" },
		func(tr *livearchive.StitchedTrack) { tr.Fragblobs[1].Size++ },
		func(tr *livearchive.StitchedTrack) { tr.Fragblobs = tr.Fragblobs[:1] },
	} {
		c := *tr
		c.Fragblobs = append([]livearchive.File(nil), tr.Fragblobs...)
		edit(&c)
		require.NotEqual(t, tag, c.Tag())
	}
}

func TestGapsNote(t *testing.T) {
	many := make([]livearchive.Gap, 7)
	for i := range many {
		many[i] = livearchive.Gap{Start: uint64(100 + 40*i), End: uint64(120 + 40*i), Fragments: 2}
	}
	for _, tc := range []struct {
		g      livearchive.Gaps
		origin uint64
		want   string
	}{
		{livearchive.Gaps{TimeScale: 10, Missing: []livearchive.Gap{{Start: 140, End: 160, Fragments: 1}}, Extra: []livearchive.Extra{{Name: "200", Start: 200}}}, 100,
			"gaps (times in the stitched file): missing 1 fragments the timeline names: 4.000-6.000 s; 1 fragblobs the timeline does not name, stitched in: 200 at 10.000 s"},
		{livearchive.Gaps{TimeScale: 10, Missing: many}, 100,
			"gaps (times in the stitched file): missing 14 fragments the timeline names: 0.000-2.000 s, 4.000-6.000 s, 8.000-10.000 s, 12.000-14.000 s, 16.000-18.000 s, and 2 more"},
		{livearchive.Gaps{TimeScale: 1000, Overlapping: []livearchive.Extra{{Name: "500", Start: 500}}, Foreign: []string{"x", "y"}}, 1000,
			"gaps (times in the stitched file): 1 fragblobs overlapping the timeline's, left out: 500 at -0.500 s; 2 fragblob names that are not times, left out"},
		{livearchive.Gaps{TimeScale: 1, Extra: []livearchive.Extra{{Name: "1", Start: 1}, {Name: "2", Start: 2}, {Name: "3", Start: 3}, {Name: "4", Start: 4}, {Name: "5", Start: 5}, {Name: "6", Start: 6}}}, 0,
			"gaps (times in the stitched file): 6 fragblobs the timeline does not name, stitched in: 1 at 1.000 s, 2 at 2.000 s, 3 at 3.000 s, 4 at 4.000 s, 5 at 5.000 s, and 1 more"},
	} {
		require.Equal(t, tc.want, tc.g.Note(tc.origin))
	}
}
