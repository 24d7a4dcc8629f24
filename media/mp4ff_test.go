package media_test

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/media"
)

// TestMP4ffFragments verifies a two-track fragment written by mp4ff (a
// second muxer besides ffmpeg): the trafs' data follow each other in one
// mdat, and moving the trun data offset of the second moves its samples
// out of it.
func TestMP4ffFragments(t *testing.T) {
	frag, err := mp4.CreateMultiTrackFragment(1, []uint32{1, 2})
	require.NoError(t, err)
	for i := range 5 {
		for track := uint32(1); track <= 2; track++ {
			data := bytes.Repeat([]byte{byte(track)}, 100*int(track)+i)
			s := mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, 1000, uint32(len(data)), 0), DecodeTime: uint64(i * 1000), Data: data}
			require.NoError(t, frag.AddFullSampleToTrack(s, track))
		}
	}
	var buf bytes.Buffer
	require.NoError(t, frag.Encode(&buf))
	data := buf.Bytes()
	f := media.File{Name: "v/1000", Fragment: true, Size: int64(len(data))}
	res, err := both(t, f, data)
	require.NoError(t, err)
	require.Equal(t, media.LevelStructure, res.Level)

	// The second traf's trun: push its data offset 1000 bytes on.
	trun := bytes.LastIndex(data, []byte("trun"))
	require.Positive(t, trun)
	flags := binary.BigEndian.Uint32(data[trun+4:]) & 0xFFFFFF
	require.NotZero(t, flags&mp4.TrunDataOffsetPresentFlag)
	bad := bytes.Clone(data)
	off := trun + 12 // after the type, version/flags and sample count
	binary.BigEndian.PutUint32(bad[off:], binary.BigEndian.Uint32(bad[off:])+1000)
	_, err = both(t, f, bad)
	require.ErrorIs(t, err, media.ErrStructure)
	require.Contains(t, err.Error(), "puts track 2's samples at")
}

// TestTextVerifierGoroutines checks that Verify ends the goroutine of a
// text verifier however far it got, also after its parser stopped early.
func TestTextVerifierGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, tt := range []struct{ name, data string }{
		{"a.xml", ""}, {"a.xml", "<a>"}, {"a.xml", "<a></a> x <b>"}, {"a.xml", "<a/>"},
		{"a.json", `{"a":`}, {"a.json", "{} {}"}, {"a.json", "[]"},
	} {
		for range 10 {
			v := media.NewVerifier(media.File{Name: tt.name, Size: -1})
			_, _ = v.Write([]byte(tt.data))
			_, _ = v.Write([]byte(tt.data))
			_, _ = v.Verify()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before)
}

// TestVerifierAllocations pins the hot path: writing mdat payload to a
// Verifier allocates nothing.
func TestVerifierAllocations(t *testing.T) {
	chunk := make([]byte, 1<<20)
	head := cat(isoBox("ftyp", make([]byte, 16)), largeBox("mdat", nil))
	binary.BigEndian.PutUint64(head[len(head)-8:], 16+1<<40)
	v := media.NewVerifier(media.File{Name: "a.mp4", Size: -1})
	_, _ = v.Write(head)
	_, _ = v.Write(chunk)
	allocs := testing.AllocsPerRun(100, func() { _, _ = v.Write(chunk) })
	require.Zero(t, allocs)
	require.NoError(t, v.Err())
}
