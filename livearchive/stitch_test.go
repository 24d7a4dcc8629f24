package livearchive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/livearchive"
)

// TestStitchWithFFmpeg: every stitched track is what ffprobe and ffmpeg see
// in the source it was cut from: the same streams, the same duration, and
// per packet the same MD5, pts and dts.
func TestStitchWithFFmpeg(t *testing.T) {
	needFFmpeg(t)
	a := loadArchive(t)
	e := loadExpected(t)
	for _, tr := range a.tracks {
		t.Run(tr.Prefix, func(t *testing.T) {
			want := e.Tracks[tr.Prefix]
			src := filepath.Join(fixtureDir, want.Source)
			out, s := stitch(t, livearchive.FS(os.DirFS(trackDir(tr.Prefix))), tr, &livearchive.Options{Origin: a.m.Origin(tr.Stream.TimeScale)})
			g := s.Gaps()
			require.True(t, g.Empty(), "%+v", g)
			path := writeTemp(t, "stitched.mp4", out)

			got, ref := ffprobe(t, path), ffprobe(t, src)
			require.Len(t, got.Streams, 1)
			require.Equal(t, ref.Streams[0].CodecType, got.Streams[0].CodecType)
			require.Equal(t, ref.Streams[0].CodecName, got.Streams[0].CodecName)
			require.Equal(t, ref.Streams[0].NbFrames, got.Streams[0].NbFrames)
			require.Equal(t, ref.Streams[0].Tags.Language, got.Streams[0].Tags.Language)
			gd, rd := seconds(t, got.Format.Duration), seconds(t, ref.Format.Duration)
			require.InDelta(t, rd, gd, 2.0, "within one fragment of the source")
			t.Logf("%s: %s %s, %s packets, ffprobe duration %.6f s (source %.6f s), %d bytes",
				tr.Prefix, got.Streams[0].CodecType, got.Streams[0].CodecName, got.Streams[0].NbFrames, gd, rd, len(out))

			require.Equal(t, framemd5(t, src), framemd5(t, path), "samples and times unchanged")
			if tr.Stream.Type != "text" {
				require.Equal(t, decodedMD5(t, src), decodedMD5(t, path), "decoded frames unchanged")
			}
		})
	}
}

// TestStitchKeepsTheClock: without an Origin, the tfdts are the channel's
// clock, one hour in: players start there, and ffprobe counts the hour in
// the duration (why callers should pass Manifest.Origin).
func TestStitchKeepsTheClock(t *testing.T) {
	needFFmpeg(t)
	a := loadArchive(t)
	tr := a.tracks[1]
	out, _ := stitch(t, livearchive.FS(os.DirFS(trackDir(tr.Prefix))), tr, nil)
	p := ffprobe(t, writeTemp(t, "clock.mp4", out))
	require.InDelta(t, 3600.0, seconds(t, p.Streams[0].StartTime), 0.001)
	require.InDelta(t, 3611.02, seconds(t, p.Format.Duration), 0.01)
}

// TestAudioStartingLater: audio whose first fragment came after the
// video's keeps its delay when stitched with the archive's Origin.
func TestAudioStartingLater(t *testing.T) {
	needFFmpeg(t)
	a := loadArchive(t)
	tr := a.tracks[1]
	frags := loadMem(t, tr.Prefix)
	first := tr.Stream.Timeline[0]
	delete(frags.blobs, strconv.FormatUint(first.Start, 10))
	stream := *tr.Stream
	stream.Timeline = stream.Timeline[1:]
	tr.Stream = &stream
	a.m.Streams[1] = stream
	origin := a.m.Origin(48000)
	require.Equal(t, uint64(3600*48000), origin, "the video's start")
	out, s := stitch(t, frags, tr, &livearchive.Options{Origin: origin})
	require.True(t, s.Gaps().Empty())
	p := ffprobe(t, writeTemp(t, "late.mp4", out))
	require.InDelta(t, float64(first.Duration)/48000, seconds(t, p.Streams[0].StartTime), 1e-6)
}

// decodedMD5 is ffmpeg's framemd5 of the decoded frames.
func decodedMD5(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0", "-f", "framemd5", "-").Output()
	require.NoError(t, err, "ffmpeg framemd5 (decoded) %s", path)
	require.Contains(t, string(out), ", ")
	return string(out)
}

func seconds(t testing.TB, s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "seconds %q", s)
	return f
}

// TestStitchedBoxes: the init segment is ftyp+moov with mvex (added where
// the header had none), no top-level uuid; every traf has a tfdt of the
// fragment's time less the origin, right after tfhd, and no tfxd.
func TestStitchedBoxes(t *testing.T) {
	a := loadArchive(t)
	e := loadExpected(t)
	for _, tr := range a.tracks {
		origin := a.m.Origin(tr.Stream.TimeScale)
		out, _ := stitch(t, livearchive.FS(os.DirFS(trackDir(tr.Prefix))), tr, &livearchive.Options{Origin: origin})
		f, err := mp4.DecodeFile(bytes.NewReader(out))
		require.NoError(t, err, tr.Prefix)
		require.NotNil(t, f.Init, tr.Prefix)
		require.NotNil(t, f.Init.Moov.Mvex, "%s: mvex", tr.Prefix)
		require.Len(t, f.Init.Moov.Mvex.Trexs, 1, tr.Prefix)
		for _, c := range f.Children {
			require.NotEqual(t, "uuid", c.Type(), tr.Prefix)
		}
		want := e.Tracks[tr.Prefix].Fragments
		require.Len(t, f.Segments, 1)
		require.Len(t, f.Segments[0].Fragments, len(want), tr.Prefix)
		for i, frag := range f.Segments[0].Fragments {
			traf := frag.Moof.Traf
			require.Equal(t, "tfhd", traf.Children[0].Type())
			require.Equal(t, "tfdt", traf.Children[1].Type(), "%s: tfdt right after tfhd", tr.Prefix)
			w, _ := strconv.ParseUint(want[i], 10, 64)
			require.Equal(t, w-origin, traf.Tfdt.BaseMediaDecodeTime(), tr.Prefix)
			for _, c := range traf.Children {
				if u, ok := c.(*mp4.UUIDBox); ok {
					require.Nil(t, u.Tfxd, "%s: tfxd dropped", tr.Prefix)
				}
			}
		}
	}
}

// TestGaps: a fragment the .ismc names but the container lacks, one the
// container holds but the .ismc does not name, one that overlaps a named
// fragment and a name that is not a time are reported; the track still
// stitches, the extra fragment in time order.
func TestGaps(t *testing.T) {
	a := loadArchive(t)
	e := loadExpected(t)
	tr := a.tracks[0] // video, 10 MHz, fragments every 2 s from 3600 s
	frags := loadMem(t, tr.Prefix)
	names := e.Tracks[tr.Prefix].Fragments
	delete(frags.blobs, names[2]) // 3604 s to 3606 s
	last := frags.blobs[names[5]]
	frags.blobs["36000000001"] = frags.blobs[names[0]] // inside the first fragment
	frags.blobs[".DS_Store"] = []byte("x")
	frags.blobs["036000000000"] = frags.blobs[names[0]] // a second spelling of the first
	stream := *tr.Stream
	stream.Timeline = stream.Timeline[:5] // the .ismc lost the last fragment
	tr.Stream = &stream

	out, s := stitch(t, frags, tr, &livearchive.Options{Origin: 36_000_000_000})
	g := s.Gaps()
	require.Equal(t, uint64(10_000_000), g.TimeScale)
	require.Equal(t, []livearchive.Gap{{Start: 36_040_000_000, End: 36_060_000_000, Fragments: 1, StartSeconds: 3604, EndSeconds: 3606}}, g.Missing)
	require.Equal(t, []livearchive.Extra{{Name: names[5], Start: 36_100_000_000, StartSeconds: 3610}}, g.Extra)
	require.Equal(t, []livearchive.Extra{{Name: "36000000001", Start: 36_000_000_001, StartSeconds: 3600.0000001}}, g.Overlapping)
	require.Equal(t, []string{".DS_Store", "036000000000"}, g.Foreign)
	require.False(t, g.Empty())
	require.Equal(t, []string{"header", names[0], names[1], names[3], names[4], names[5]}, s.Names())

	f, err := mp4.DecodeFile(bytes.NewReader(out))
	require.NoError(t, err)
	var times []uint64
	for _, fr := range f.Segments[0].Fragments {
		times = append(times, fr.Moof.Traf.Tfdt.BaseMediaDecodeTime())
	}
	require.Equal(t, []uint64{0, 20_000_000, 60_000_000, 80_000_000, 100_000_000}, times)
	require.True(t, bytes.HasSuffix(out, last[len(last)-200:]), "the extra fragment's samples end the file")

	if _, err := exec.LookPath("ffprobe"); err == nil {
		p := ffprobe(t, writeTemp(t, "gap.mp4", out))
		require.Equal(t, "225", p.Streams[0].NbFrames, "275 frames less the 50 of the missing fragment")
	}
}

// TestGapsGapMerging: adjacent missing fragments are one range.
func TestGapsGapMerging(t *testing.T) {
	a := loadArchive(t)
	tr := a.tracks[1] // audio, 48 kHz
	frags := loadMem(t, tr.Prefix)
	tl := tr.Stream.Timeline
	for _, c := range tl[1:3] {
		delete(frags.blobs, strconv.FormatUint(c.Start, 10))
	}
	delete(frags.blobs, strconv.FormatUint(tl[4].Start, 10))
	s, err := livearchive.New(context.Background(), frags, tr, nil)
	require.NoError(t, err)
	g := s.Gaps()
	require.Len(t, g.Missing, 2)
	require.Equal(t, livearchive.Gap{Start: tl[1].Start, End: tl[3].Start, Fragments: 2,
		StartSeconds: float64(tl[1].Start) / 48000, EndSeconds: float64(tl[3].Start) / 48000}, g.Missing[0])
	require.Equal(t, tl[4].Start, g.Missing[1].Start)
	require.Equal(t, tl[4].End(), g.Missing[1].End)

	delete(frags.blobs, livearchive.HeaderName)
	_, err = livearchive.New(context.Background(), frags, tr, nil)
	require.ErrorIs(t, err, livearchive.ErrFragment)
	require.ErrorContains(t, err, `track "audio_eng=32000" has no header fragblob`)
}

// TestLayoutReadAt: the Layout's size is the streamed size, ReadAt of
// random ranges returns the streamed bytes and opens only the fragblobs it
// overlaps, and http.ServeContent serves ranges from it.
func TestLayoutReadAt(t *testing.T) {
	a := loadArchive(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tr := range a.tracks {
		frags := loadMem(t, tr.Prefix)
		opts := &livearchive.Options{Origin: a.m.Origin(tr.Stream.TimeScale)}
		want, s := stitch(t, frags, tr, opts)
		l, err := s.Layout(context.Background())
		require.NoError(t, err)
		require.Equal(t, int64(len(want)), l.Size(), tr.Prefix)

		segs := l.Segments()
		require.Len(t, segs, len(tr.Stream.Timeline))
		at := l.InitSize()
		for i, sg := range segs {
			require.Equal(t, at, sg.Offset)
			require.Equal(t, tr.Stream.Timeline[i].Start-opts.Origin, sg.Time)
			require.Equal(t, "moof", string(want[sg.Offset+4:sg.Offset+8]))
			at += sg.Size
		}
		require.Equal(t, l.Size(), at)

		r := l.Open(context.Background())
		for range 300 {
			off := rng.Int64N(l.Size() + 10)
			n := rng.IntN(int(l.Size()/3) + 1)
			p := make([]byte, n)
			frags.opens.Store(0)
			got, err := r.ReadAt(p, off)
			end := min(off+int64(n), l.Size())
			if off >= l.Size() {
				end = off
			}
			require.Equal(t, int(end-off), got, "ReadAt(%d, %d)", n, off)
			if got < n {
				require.ErrorIs(t, err, io.EOF)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, want[off:end], p[:got], "%s ReadAt(%d, %d)", tr.Prefix, n, off)
			require.LessOrEqual(t, frags.opens.Load(), int64(overlapping(segs, off, end)), "opens only the fragblobs it overlaps")
		}
		all, err := io.ReadAll(l.Open(context.Background()))
		require.NoError(t, err)
		require.Equal(t, want, all)

		// Sequential reads with small buffers read each fragblob's mdat once.
		for _, size := range []int{1, 100, 32 << 10} {
			frags.reads.Store(0)
			var got bytes.Buffer
			_, err = io.CopyBuffer(&got, struct{ io.Reader }{l.Open(context.Background())}, make([]byte, size))
			require.NoError(t, err)
			require.Equal(t, want, got.Bytes(), "Read with a %d-byte buffer", size)
			require.LessOrEqual(t, frags.reads.Load(), int64(len(segs)), "one read per fragblob with a %d-byte buffer", size)
		}
		rs := l.Open(context.Background())
		for range 50 {
			off := rng.Int64N(l.Size())
			_, err := rs.Seek(off, io.SeekStart)
			require.NoError(t, err)
			p := make([]byte, rng.IntN(5000)+1)
			n, err := io.ReadFull(rs, p)
			if err != nil {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			}
			require.Equal(t, want[off:off+int64(n)], p[:n], "Seek(%d) and Read", off)
		}

		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.ServeContent(w, req, "track.mp4", time.Time{}, l.Open(req.Context()))
		}))
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", segs[1].Offset, segs[1].Offset+segs[1].Size-1))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		require.Equal(t, http.StatusPartialContent, res.StatusCode)
		require.Equal(t, want[segs[1].Offset:segs[1].Offset+segs[1].Size], body)
	}
}

// overlapping counts the fragments [off, end) reads bytes of beyond their
// moof (the moof comes from the layout).
func overlapping(segs []livearchive.Segment, off, end int64) int {
	n := 0
	for _, s := range segs {
		if off < s.Offset+s.Size && end > s.Offset {
			n++
		}
	}
	return n
}

// TestLayoutChanged: a fragblob whose size changed after the layout is an
// error, not wrong bytes.
func TestLayoutChanged(t *testing.T) {
	a := loadArchive(t)
	tr := a.tracks[0]
	frags := loadMem(t, tr.Prefix)
	s, err := livearchive.New(context.Background(), frags, tr, nil)
	require.NoError(t, err)
	l, err := s.Layout(context.Background())
	require.NoError(t, err)
	seg := l.Segments()[3]
	frags.blobs[seg.Name] = append(frags.blobs[seg.Name], 0)
	_, err = l.Open(context.Background()).ReadAt(make([]byte, 10), seg.Offset+seg.Size-10)
	require.ErrorIs(t, err, blobcrypt.ErrSourceChanged)
}

// TestStreamMemoryBounded: a 64 MiB fragment streams through with a few
// MiB allocated in all and a handful of reads.
func TestStreamMemoryBounded(t *testing.T) {
	a := loadArchive(t)
	tr := a.tracks[0]
	src := loadMem(t, tr.Prefix)
	first := strconv.FormatUint(tr.Stream.Timeline[0].Start, 10)
	moof := src.blobs[first][:moofSize(t, src.blobs[first])]
	const payload = 64 << 20
	big := &bigFragments{header: src.blobs[livearchive.HeaderName], name: first, moof: moof, payload: payload}
	stream := *tr.Stream
	stream.Timeline = stream.Timeline[:1]
	tr.Stream = &stream
	s, err := livearchive.New(context.Background(), big, tr, nil)
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := s.Stream(context.Background(), io.Discard)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Greater(t, n, int64(payload))
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("streamed %d bytes: %d bytes allocated, %d reads", n, alloc, big.reads)
	require.Less(t, alloc, uint64(4<<20), "memory does not grow with the fragment")
	require.LessOrEqual(t, big.reads, int64(payload/(1<<20)+4))
}

func moofSize(t testing.TB, b []byte) int {
	require.Equal(t, "moof", string(b[4:8]))
	return int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// bigFragments is a header and one fragment: a real moof and an mdat of
// payload generated bytes, never held in memory.
type bigFragments struct {
	header  []byte
	name    string
	moof    []byte
	payload int64
	reads   int64
}

func (b *bigFragments) Names(context.Context) ([]string, error) {
	return []string{livearchive.HeaderName, b.name}, nil
}

func (b *bigFragments) Open(_ context.Context, name string) (livearchive.Blob, error) {
	if name == livearchive.HeaderName {
		return bytes.NewReader(b.header), nil
	}
	return b, nil
}

func (b *bigFragments) Size() int64 { return int64(len(b.moof)) + 8 + b.payload }

func (b *bigFragments) ReadAt(p []byte, off int64) (int, error) {
	b.reads++
	size := 8 + b.payload
	mdatHdr := []byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size), 'm', 'd', 'a', 't'}
	m := int64(len(b.moof))
	n := 0
	for at := off; n < len(p) && at < b.Size(); at = off + int64(n) {
		switch {
		case at < m:
			n += copy(p[n:], b.moof[at:])
		case at < m+8:
			n += copy(p[n:], mdatHdr[at-m:])
		default:
			k := min(int64(len(p)-n), b.Size()-at)
			for i := range k {
				p[n+int(i)] = byte(at + i)
			}
			n += int(k)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
