package cmaf

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"
)

// An H.264 SPS and PPS (640x360 Main, from x264) for synthetic video.
var (
	testSPS, _ = hex.DecodeString("674d401eeca05017fcb808800000030080000018078b16cb")
	testPPS, _ = hex.DecodeString("68ef8472")
)

// synth is a synthetic source file: its tracks' samples laid out one after
// another in data, each sample's bytes random.
type synth struct {
	data   []byte
	tracks []*Track
}

// add appends a track of n samples of dur ticks, a sync sample every
// gop samples (every one for audio), composition offsets as B-frames give.
func (s *synth) add(kind Kind, file string, timescale, dur uint32, n, gop int, rnd *rand.Rand) *Track {
	t := &Track{File: file, ID: 1, Kind: kind, Timescale: timescale}
	if kind == Video {
		t.Codecs, t.Width, t.Height = "avc1.4d401e", 640, 360
		avcC, err := mp4.CreateAvcC([][]byte{testSPS}, [][]byte{testPPS}, true)
		if err != nil {
			panic(err)
		}
		t.entry = mp4.CreateVisualSampleEntryBox("avc1", 640, 360, avcC)
	} else {
		t.Codecs, t.Lang = "mp4a.40.2", "eng"
		t.entry = mp4.CreateAudioSampleEntryBox("mp4a", 2, 16, uint16(timescale), mp4.CreateEsdsBox([]byte{0x11, 0x90}))
	}
	for i := range n {
		size := 50 + rnd.IntN(400)
		sm := sample{off: int64(len(s.data)), dts: uint64(i) * uint64(dur), size: uint32(size), dur: dur,
			sync: kind == Audio || i%gop == 0}
		if kind == Video && !sm.sync {
			sm.cto = int32(dur) * int32(i%3)
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rnd.Uint32())
		}
		s.data = append(s.data, b...)
		t.samples = append(t.samples, sm)
		t.Size += int64(size)
	}
	t.Duration = uint64(n) * uint64(dur)
	s.tracks = append(s.tracks, t)
	return t
}

// Names and Open make a synth the Files of an asset whose every track is
// in the one file.
func (s *synth) Names() []string { return []string{"a.mp4"} }
func (s *synth) Open(context.Context, string) (File, error) {
	return nopFile{bytes.NewReader(s.data)}, nil
}

type nopFile struct{ *bytes.Reader }

func (nopFile) Close() error { return nil }

// ladder is two video renditions with 2 s GOPs at 25 fps, 21 s, and one
// audio track: a presentation's usual shape.
func ladder(t *testing.T, opts *Options) (*synth, *Presentation) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(1, 2))
	s := &synth{}
	s.add(Video, "a.mp4", 1000, 40, 525, 50, rnd)
	s.add(Video, "a.mp4", 12800, 512, 525, 50, rnd)
	s.add(Audio, "a.mp4", 48000, 1024, 984, 1, rnd)
	p, err := NewPresentation("", s.tracks, opts)
	require.NoError(t, err)
	p.files = s
	return s, p
}

func TestSegmentsAligned(t *testing.T) {
	_, p := ladder(t, nil)
	require.Equal(t, []string{"video-1", "video-2", "audio-1-eng"}, p.Names)
	for i, tr := range p.Tracks {
		require.Len(t, p.segs[i], 4, "21 s in 6 s segments: 6, 6, 6, 3")
		for n, s := range p.segs[i] {
			start := float64(s.dts) / float64(tr.Timescale)
			require.InDelta(t, float64(n)*6, start, 0.011, "%s segment %d", p.Names[i], n)
			require.True(t, tr.samples[s.first].sync)
		}
		last := p.segs[i][3]
		require.Equal(t, len(tr.samples), last.end)
	}
	require.Equal(t, 6, p.targetDuration())
}

// A GOP longer than the target makes segments as long as the GOP.
func TestSegmentsLongGOP(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	s := &synth{}
	s.add(Video, "a.mp4", 1000, 40, 500, 200, rnd) // 8 s GOPs, 20 s
	p, err := NewPresentation("", s.tracks, &Options{SegmentDuration: 2 * time.Second})
	require.NoError(t, err)
	require.Len(t, p.segs[0], 3)
	require.Equal(t, uint64(8000), p.segs[0][0].dur)
	require.Equal(t, 8, p.targetDuration())
	require.Contains(t, string(p.MediaPlaylist(0)), "#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:1\n")
}

func TestSegmentsNotAligned(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	s := &synth{}
	s.add(Video, "hi.mp4", 1000, 40, 500, 50, rnd)
	s.add(Video, "lo.mp4", 1000, 40, 500, 48, rnd)
	_, err := NewPresentation("", s.tracks, nil)
	require.ErrorIs(t, err, ErrMedia)
	require.ErrorContains(t, err, "video renditions are not aligned")
	require.Regexp(t, `(hi|lo)\.mp4 track 1 has no sync sample at \d+\.\d{3} s, where (hi|lo)\.mp4 track 1 has one`, err.Error())
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{SegmentDuration: time.Millisecond}, {SegmentDuration: time.Hour}, {Workers: -1}, {Workers: 65}} {
		_, err := NewPresentation("", nil, &o)
		require.Error(t, err, "%+v", o)
	}
}

// Every output a presentation names can be sized and written, the size
// and head Size computes without media data are the written bytes', and a
// name it does not list is errNotFound.
func TestOutputs(t *testing.T) {
	_, p := ladder(t, nil)
	ctx := context.Background()
	for _, name := range p.Outputs() {
		size, head, err := p.Size(name)
		require.NoError(t, err, name)
		var b bytes.Buffer
		require.NoError(t, p.Write(ctx, &b, name), name)
		require.Equal(t, size, int64(b.Len()), name)
		require.True(t, bytes.HasPrefix(b.Bytes(), head), name)
	}
	for _, name := range []string{"", "video-1", "video-1-00000.m4s", "video-1-00005.m4s", "video-1-1.m4s",
		"video-1-000001.m4s", "video-1-+0001.m4s", "video-1- 0001.m4s", "../video-1.m3u8", "video-1.vtt",
		"video-3-00001.m4s", "VIDEO-1.m3u8", "video-1-init.mp4x", "master.m3u8/", "audio-1-eng"} {
		_, _, err := p.Size(name)
		require.ErrorIs(t, err, errNotFound, "%q", name)
		require.ErrorIs(t, p.Write(ctx, io.Discard, name), errNotFound, "%q", name)
	}
}

// Segments written and read back as a fragmented MP4 (init segment, then
// the media segments) have the source's samples: the same bytes, times,
// composition offsets and sync flags.
func TestSegmentsRoundTrip(t *testing.T) {
	s, p := ladder(t, nil)
	ctx := context.Background()
	for i, tr := range p.Tracks {
		var b bytes.Buffer
		require.NoError(t, p.Write(ctx, &b, p.InitName(i)))
		for n := range p.segs[i] {
			require.NoError(t, p.Write(ctx, &b, p.SegmentName(i, n+1)))
		}
		got, err := ReadTracks(bytes.NewReader(b.Bytes()), int64(b.Len()), "out.mp4")
		require.NoError(t, err)
		require.Len(t, got, 1)
		g := got[0]
		require.Equal(t, tr.Codecs, g.Codecs)
		require.Equal(t, tr.Timescale, g.Timescale)
		require.Len(t, g.samples, len(tr.samples))
		for k, want := range tr.samples {
			have := g.samples[k]
			require.Equal(t, s.data[want.off:want.off+int64(want.size)], b.Bytes()[have.off:have.off+int64(have.size)], "sample %d", k)
			require.Equal(t, want.dts, have.dts)
			require.Equal(t, want.cto, have.cto)
			require.Equal(t, want.sync, have.sync)
		}
	}
}

func TestManifests(t *testing.T) {
	_, p := ladder(t, nil)
	m := string(p.MasterPlaylist())
	require.Equal(t, 2, strings.Count(m, "#EXT-X-STREAM-INF:"))
	require.Contains(t, m, `CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="audio-mp4a-40-2"`)
	require.Contains(t, m, `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-mp4a-40-2",NAME="eng",LANGUAGE="eng",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-1-eng.m3u8"`)
	mpd := string(p.MPD())
	require.Contains(t, mpd, `<S t="0" d="6000" r="2"></S>`)
	require.Contains(t, mpd, `frameRate="25"`)
	require.Contains(t, mpd, `mediaPresentationDuration="PT21.000S"`)
}

// A language from a manifest or a track cannot break out of its
// attribute or line.
func TestLanguageSanitized(t *testing.T) {
	require.Equal(t, "en-GB", language("en-GB"))
	require.Equal(t, "engquotx", language("eng\",quot\nx"))
	require.Equal(t, "", language("und"))
	require.Len(t, language(strings.Repeat("a", 100)), 35)
}

func FuzzReadTracks(f *testing.F) {
	_, p := ladder(&testing.T{}, nil)
	var b bytes.Buffer
	p.Write(context.Background(), &b, p.InitName(2))
	p.Write(context.Background(), &b, p.SegmentName(2, 1))
	f.Add(b.Bytes())
	f.Add([]byte("\x00\x00\x00\x08moov"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tracks, err := ReadTracks(bytes.NewReader(data), int64(len(data)), "f.mp4")
		if err != nil {
			require.True(t, errors.Is(err, ErrMedia), "%v", err)
			return
		}
		for _, tr := range tracks {
			for _, s := range tr.samples {
				require.LessOrEqual(t, s.off+int64(s.size), int64(len(data)))
			}
		}
	})
}

func FuzzOutputName(f *testing.F) {
	_, p := ladder(&testing.T{}, nil)
	for _, n := range p.Outputs() {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		_, _, err := p.Size(name)
		if _, ok := p.lookup(name); !ok {
			require.ErrorIs(t, err, errNotFound)
		}
	})
}
