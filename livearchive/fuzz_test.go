package livearchive_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

func FuzzParseManifest(f *testing.F) {
	ismc, err := os.ReadFile(filepath.Join(fixtureDir, "archive", "live.ismc"))
	require.NoError(f, err)
	f.Add(ismc)
	f.Add([]byte(`<SmoothStreamingMedia TimeScale="1000"><StreamIndex Type="audio" TimeScale="48000"><QualityLevel Bitrate="1"/><c d="10" r="3"/><c t="100" d="5"/></StreamIndex></SmoothStreamingMedia>`))
	f.Add([]byte(`<SmoothStreamingMedia><StreamIndex Type="video"><c t="18446744073709551615" d="1"/></StreamIndex></SmoothStreamingMedia>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := livearchive.ParseManifest(bytes.NewReader(doc))
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "livearchive: "), err.Error())
			return
		}
		n := 0
		for _, s := range m.Streams {
			require.NotZero(t, s.TimeScale)
			for i, c := range s.Timeline {
				require.NotZero(t, c.Duration)
				if i > 0 {
					require.GreaterOrEqual(t, c.Start, s.Timeline[i-1].End(), "timeline increases")
				}
			}
			n += len(s.Timeline)
		}
		require.LessOrEqual(t, n, livearchive.MaxChunks)
		_, _ = m.Tracks(nil)
		_ = m.Origin(90000)
	})
}

func FuzzParseServerManifest(f *testing.F) {
	ism, err := os.ReadFile(filepath.Join(fixtureDir, "archive", "live.ism"))
	require.NoError(f, err)
	f.Add(ism)
	f.Add([]byte(`<smil><body><switch><video src="v" systemBitrate="1"><param name="trackID" value="1"/></video></switch></body></smil>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		sm, err := livearchive.ParseServerManifest(bytes.NewReader(doc))
		if err != nil {
			return
		}
		m := &livearchive.Manifest{TimeScale: 1, Streams: []livearchive.Stream{{Type: "video", TimeScale: 1, QualityLevels: []livearchive.QualityLevel{{Bitrate: 1}}}}}
		_, _ = m.Tracks(sm)
	})
}

// FuzzFragment: any header and fragment bytes stitch or fail with an
// error, never a panic; when they stitch, the Layout agrees with the
// stream byte for byte.
func FuzzFragment(f *testing.F) {
	a := loadArchive(f)
	for _, tr := range a.tracks {
		frags := loadMem(f, tr.Prefix)
		first := frags.blobs[uitoa(tr.Stream.Timeline[0].Start)]
		f.Add(frags.blobs[livearchive.HeaderName], first)
		f.Add(frags.blobs[livearchive.HeaderName], smoothStyle(f, first, nil))
	}
	f.Add([]byte{}, []byte{0, 0, 0, 8, 'm', 'o', 'o', 'f'})
	tr := livearchive.Track{Prefix: "t", Stream: &livearchive.Stream{TimeScale: 1000, Timeline: []livearchive.Chunk{{Start: 0, Duration: 1}}}}
	f.Fuzz(func(t *testing.T, header, frag []byte) {
		frags := &memFragments{blobs: map[string][]byte{"header": header, "0": frag}}
		s, err := livearchive.New(context.Background(), frags, tr, nil)
		require.NoError(t, err)
		var buf bytes.Buffer
		_, serr := s.Stream(context.Background(), &buf)
		l, lerr := s.Layout(context.Background())
		require.Equal(t, serr == nil, lerr == nil, "stream %v, layout %v", serr, lerr)
		if serr != nil {
			require.True(t, strings.HasPrefix(serr.Error(), "livearchive: "), serr.Error())
			return
		}
		got, err := io.ReadAll(l.Open(context.Background()))
		require.NoError(t, err)
		require.Equal(t, buf.Bytes(), got)
	})
}
