package cmaf

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/timescale"

	"github.com/amscrypt/amscrypt/restore"
)

// progressive returns a progressive MP4 of one AAC track whose sample
// table the caller fills in through edit (given the offset of the mdat's
// payload of payload bytes), so that tests can make sample tables no
// encoder writes.
func progressive(t *testing.T, payload int, edit func(stbl *mp4.StblBox, mdat uint64)) []byte {
	t.Helper()
	init := mp4.CreateEmptyInit()
	trak := init.AddEmptyTrack(48000, "audio", "eng")
	// Progressive: no mvex.
	init.Moov.Mvex = nil
	init.Moov.Children = []mp4.Box{init.Moov.Mvhd, trak}
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("mp4a", 2, 16, 48000, mp4.CreateEsdsBox([]byte{0x11, 0x90})))
	stbl := trak.Mdia.Minf.Stbl
	encode := func() []byte {
		var b bytes.Buffer
		require.NoError(t, init.Ftyp.Encode(&b))
		require.NoError(t, init.Moov.Encode(&b))
		return b.Bytes()
	}
	edit(stbl, 0)
	head := encode()
	edit(stbl, uint64(len(head))+8) // the same table, with the offsets: same size
	head = encode()
	mdat := &mp4.MdatBox{Data: make([]byte, payload)}
	var b bytes.Buffer
	b.Write(head)
	require.NoError(t, mdat.Encode(&b))
	return b.Bytes()
}

// table sets a sample table of n samples of size bytes and dur ticks, one
// per chunk, at the given offsets from the mdat's payload.
func table(stbl *mp4.StblBox, mdat uint64, n int, size, dur uint32, offs func(i int) uint64) {
	stbl.Stts.SampleCount, stbl.Stts.SampleTimeDelta = []uint32{uint32(n)}, []uint32{dur}
	stbl.Stsc.Entries = nil
	_ = stbl.Stsc.AddEntry(1, 1, 1)
	stbl.Stsz.SampleUniformSize, stbl.Stsz.SampleNumber = size, uint32(n)
	stbl.Stco.ChunkOffset = make([]uint32, n)
	for i := range n {
		stbl.Stco.ChunkOffset[i] = uint32(mdat + offs(i))
	}
}

// TestOverlappingSamplesRefused: a sample table that places its samples
// over each other (2,000 samples of the whole 64 KiB mdat, all at its
// start, a file of 80 KiB) is refused: packaged, its one segment would be
// 128 MiB, read and held in memory whole (a 333 KB file made a 918 MB
// segment and 4 GB of RSS).
func TestOverlappingSamplesRefused(t *testing.T) {
	const payload = 64 << 10
	data := progressive(t, payload, func(stbl *mp4.StblBox, mdat uint64) {
		table(stbl, mdat, 2000, payload, 0, func(int) uint64 { return 0 })
	})
	_, err := ReadTracks(bytes.NewReader(data), int64(len(data)), "a.mp4")
	require.ErrorIs(t, err, ErrMedia)
	require.ErrorContains(t, err, "overlap")

	// The same table with its samples side by side reads.
	data = progressive(t, payload, func(stbl *mp4.StblBox, mdat uint64) {
		table(stbl, mdat, 64, 1024, 1024, func(i int) uint64 { return uint64(i) * 1024 })
	})
	tracks, err := ReadTracks(bytes.NewReader(data), int64(len(data)), "a.mp4")
	require.NoError(t, err)
	require.Equal(t, 64, tracks[0].Samples())
}

// TestSegmentsWallClock: a live archive's decode times are its channel's
// clock, 10 MHz ticks since 1970 for an encoder on UTC; a boundary's time
// in a track's timescale (dts × timescale) is past 2^64 there, which cut
// took for a time with no sync sample: "video renditions are not aligned"
// for one rendition against itself.
func TestSegmentsWallClock(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := &synth{}
	v := s.add(Video, "a.mp4", 10_000_000, 400_000, 250, 50, rnd)
	a := s.add(Audio, "a.mp4", 10_000_000, 213_333, 470, 1, rnd)
	const base = 17_000_000_000_000_000 // late 2023 in 100 ns ticks
	for _, tr := range []*Track{v, a} {
		for i := range tr.samples {
			tr.samples[i].dts += base
		}
	}
	p, err := NewPresentation("", s.tracks, nil)
	require.NoError(t, err)
	require.Len(t, p.segs[0], 2) // 10 s: 2 s GOPs cut at 6 s
	require.Equal(t, uint64(0), p.segs[0][0].dts)
	require.Equal(t, uint64(60_000_000), p.segs[0][1].dts)
	require.Len(t, p.segs[1], 2)
	require.Equal(t, uint64(math.MaxUint64), timescale.Convert(math.MaxUint64, 2, 3))
	require.Equal(t, uint64(5_100_000_000_000_000_000), timescale.Convert(base, 10_000_000, 3_000_000_000))
}

// lateSink is a restore.Dir whose Existing finds nothing the first time it
// is asked about a path: as when another run places that file between
// this run's look and its Commit.
type lateSink struct {
	restore.Dir
	asked map[string]bool
}

func (s *lateSink) Existing(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	if !s.asked[path] {
		s.asked[path] = true
		return nil, 0, nil, nil
	}
	return s.Dir.Existing(ctx, path)
}

// TestPlaceRaced: two runs packaging the same asset into one destination
// at once both finish. A file the other run placed first, between this
// run's look and its Commit, is the same file: kept, not an error (both
// runs used to fail, "exists; refusing to overwrite it", each on a file
// the other had placed, leaving the package without its manifests).
func TestPlaceRaced(t *testing.T) {
	_, p := ladder(t, nil)
	dir := t.TempDir()
	ctx := context.Background()
	for _, n := range p.Outputs() {
		w, _, err := place(ctx, restore.Dir{Root: dir}, p, n)
		require.NoError(t, err)
		require.True(t, w)
	}
	late := &lateSink{Dir: restore.Dir{Root: dir}, asked: map[string]bool{}}
	for _, n := range p.Outputs() {
		w, _, err := place(ctx, late, p, n)
		require.NoError(t, err, n)
		require.False(t, w, n)
	}
	// A different file placed first is still an error.
	_, p2 := ladder(t, &Options{SegmentDuration: 4 * time.Second})
	late = &lateSink{Dir: restore.Dir{Root: dir}, asked: map[string]bool{}}
	_, _, err := place(ctx, late, p2, p2.SegmentName(0, 1))
	require.ErrorIs(t, err, fs.ErrExist)
}

// TestVideoWithoutLeadingSync: a video track whose first sample is not a
// sync sample (an stss that is empty or does not name sample 1) is refused
// saying so, not as renditions "not aligned" at 0 s with itself.
func TestVideoWithoutLeadingSync(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := &synth{}
	v := s.add(Video, "a.mp4", 1000, 40, 100, 50, rnd)
	v.samples[0].sync = false
	_, err := NewPresentation("", s.tracks, nil)
	require.ErrorIs(t, err, ErrMedia)
	require.NotContains(t, err.Error(), "not aligned")
	require.ErrorContains(t, err, "a.mp4 track 1 does not start with a sync sample")
}

// TestSegmentNamesPastFiveDigits: segment 100000 and on are named with
// more digits ("-100000.m4s"), and lookup found only five: an audio track
// of 100,001 one-second samples cut every second listed names that
// Package then failed on ("no such output"), and serve answered 404 for.
func TestSegmentNamesPastFiveDigits(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := &synth{}
	s.add(Audio, "a.mp4", 1000, 1000, 100_001, 1, rnd)
	p, err := NewPresentation("", s.tracks, &Options{SegmentDuration: time.Second})
	require.NoError(t, err)
	p.files = s
	require.Equal(t, 100_001, p.Segments(0))
	outs := p.Outputs()
	last := p.SegmentName(0, 100_001)
	require.Equal(t, "audio-1-eng-100001.m4s", last)
	require.Contains(t, outs, last)
	for _, n := range []string{p.SegmentName(0, 1), p.SegmentName(0, 99_999), p.SegmentName(0, 100_000), last} {
		_, _, err := p.Size(n)
		require.NoError(t, err, n)
	}
	var b bytes.Buffer
	require.NoError(t, p.Write(context.Background(), &b, last))
	for _, n := range []string{"audio-1-eng-100002.m4s", "audio-1-eng-0100001.m4s", "audio-1-eng-+100001.m4s", "audio-1-eng-00000.m4s", "audio-1-eng-1.m4s"} {
		_, _, err := p.Size(n)
		require.ErrorIs(t, err, errNotFound, n)
	}
}

// countingReader is a ReaderAt over data that records the longest read.
type countingReader struct {
	data    []byte
	longest int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.longest = max(c.longest, len(p))
	if off >= int64(len(c.data)) {
		return 0, io.EOF
	}
	n := copy(p, c.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestWriteSamplesWindowed: a segment's samples go out read by read, no
// read longer than the window, whatever their layout: samples larger than
// the window, straddling reads, of size 0, and gaps of other data (short
// ones read through, long ones skipped). The bytes are the samples' data in
// order; a source too short is an error naming the offset.
func TestWriteSamplesWindowed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for trial := range 200 {
		var tr Track
		tr.File = "f.mp4"
		off := int64(rng.IntN(100))
		var want []byte
		for range 1 + rng.IntN(40) {
			size := uint32(rng.IntN(3000))
			switch rng.IntN(10) {
			case 0:
				size = 0
			case 1:
				size = uint32(20000 + rng.IntN(40000)) // several windows
			}
			if off+int64(size) > int64(len(data)) {
				break
			}
			tr.samples = append(tr.samples, sample{off: off, size: size})
			want = append(want, data[off:off+int64(size)]...)
			off += int64(size)
			switch rng.IntN(4) {
			case 0:
				off += int64(rng.IntN(500)) // read through
			case 1:
				off += maxGap + 1 + int64(rng.IntN(1000)) // a read of its own
			}
		}
		window := make([]byte, 1+rng.IntN(9000))
		r := &countingReader{data: data}
		var got bytes.Buffer
		require.NoError(t, tr.writeSamples(context.Background(), &got, r, segment{first: 0, end: len(tr.samples)}, window), "trial %d", trial)
		require.True(t, bytes.Equal(want, got.Bytes()), "trial %d: window %d, %d bytes, want %d: %v", trial, len(window), got.Len(), len(want), tr.samples)
		require.LessOrEqual(t, r.longest, len(window))
	}
	tr := Track{File: "short.mp4", samples: []sample{{off: 10, size: 100}}}
	err := tr.writeSamples(context.Background(), io.Discard, &countingReader{data: make([]byte, 60)}, segment{end: 1}, make([]byte, 32))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.ErrorContains(t, err, "short.mp4 at 60")
}
