package livearchive_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

// smoothStyle rewrites a fixture fragment (moof+mdat) the way older Smooth
// encoders wrote them: an styp first, the tfhd's base data offset explicit
// (the moof's absolute position in the fragblob) and a free box between
// moof and mdat, every trun offset still pointing at its samples. edit may
// change the moof further.
func smoothStyle(t testing.TB, frag []byte, edit func(*mp4.MoofBox)) []byte {
	return smoothStyleBase(t, frag, false, edit)
}

// smoothStyleBase is smoothStyle; with atSamples the base data offset is
// where the samples start and the trun has no data offset at all.
func smoothStyleBase(t testing.TB, frag []byte, atSamples bool, edit func(*mp4.MoofBox)) []byte {
	t.Helper()
	box, err := mp4.DecodeBoxSR(0, bits.NewFixedSliceReader(frag))
	require.NoError(t, err)
	moof := box.(*mp4.MoofBox)
	rest := frag[moof.Size():]
	styp := mp4.CreateStyp()
	free := mp4.NewFreeBox(make([]byte, 13))
	tfhd := moof.Traf.Tfhd
	require.NotZero(t, tfhd.Flags&mp4.TfhdDefaultBaseIsMoofFlag)
	oldSize := int64(moof.Size())
	tfhd.Flags = tfhd.Flags&^mp4.TfhdDefaultBaseIsMoofFlag | mp4.TfhdBaseDataOffsetPresentFlag
	tfhd.BaseDataOffset = styp.Size()
	if edit != nil {
		edit(moof)
	}
	if atSamples {
		trun := moof.Traf.Trun
		samples := uint64(trun.DataOffset) + tfhd.BaseDataOffset + uint64(moof.Size()) - uint64(oldSize)
		trun.Flags &^= mp4.TrunDataOffsetPresentFlag
		trun.DataOffset = 0
		shrink := uint64(4)
		tfhd.BaseDataOffset = samples - shrink + free.Size()
	} else {
		grow := int64(moof.Size()) - oldSize + int64(free.Size())
		for _, trun := range moof.Traf.Truns {
			trun.DataOffset += int32(grow)
		}
	}
	var out bytes.Buffer
	require.NoError(t, styp.Encode(&out))
	require.NoError(t, moof.Encode(&out))
	require.NoError(t, free.Encode(&out))
	out.Write(rest)
	return out.Bytes()
}

// TestStitchSmoothStyle: explicit base data offsets, styp and free boxes
// are undone: the stitched track still has the source's samples at the
// source's times.
func TestStitchSmoothStyle(t *testing.T) {
	needFFmpeg(t)
	a := loadArchive(t)
	e := loadExpected(t)
	tr := a.tracks[0]
	for _, atSamples := range []bool{false, true} {
		frags := loadMem(t, tr.Prefix)
		for _, n := range e.Tracks[tr.Prefix].Fragments {
			frags.blobs[n] = smoothStyleBase(t, frags.blobs[n], atSamples, nil)
		}
		out, _ := stitch(t, frags, tr, &livearchive.Options{Origin: a.m.Origin(tr.Stream.TimeScale)})
		require.Equal(t, -1, bytes.Index(out, []byte("styp")))
		require.Equal(t, framemd5(t, "../testdata/livearchive/src/video.mp4"), framemd5(t, writeTemp(t, "smooth.mp4", out)),
			"base at the samples: %v", atSamples)

		// The output is CMAF-style: offsets from the moof, no explicit base.
		f, err := mp4.DecodeFile(bytes.NewReader(out))
		require.NoError(t, err)
		for _, fr := range f.Segments[0].Fragments {
			tfhd := fr.Moof.Traf.Tfhd
			require.False(t, tfhd.HasBaseDataOffset())
			require.True(t, tfhd.DefaultBaseIfMoof())
			require.True(t, fr.Moof.Traf.Trun.HasDataOffset())
		}

		l, err := mustStitcher(t, frags, tr).Layout(context.Background())
		require.NoError(t, err)
		got, err := io.ReadAll(l.Open(context.Background()))
		require.NoError(t, err)
		require.Equal(t, out, got)
	}
}

func mustStitcher(t testing.TB, frags livearchive.Fragments, tr livearchive.Track) *livearchive.Stitcher {
	s, err := livearchive.New(context.Background(), frags, tr, &livearchive.Options{Origin: 36_000_000_000, Workers: 3})
	require.NoError(t, err)
	return s
}

// TestSignedOffsetsInVersion0: a trun with negative composition offsets
// written as version 0 (Expression Encoder did) comes out as version 1,
// the same bits read as signed.
func TestSignedOffsetsInVersion0(t *testing.T) {
	a := loadArchive(t)
	tr := a.tracks[0]
	frags := loadMem(t, tr.Prefix)
	first := strconv.FormatUint(tr.Stream.Timeline[0].Start, 10)
	frags.blobs[first] = smoothStyle(t, frags.blobs[first], func(m *mp4.MoofBox) {
		trun := m.Traf.Trun
		require.True(t, trun.HasSampleCompositionTimeOffset())
		trun.Version = 0
		trun.Samples[1].CompositionTimeOffset = -400000
	})
	out, _ := stitch(t, frags, tr, nil)
	f, err := mp4.DecodeFile(bytes.NewReader(out))
	require.NoError(t, err)
	trun := f.Segments[0].Fragments[0].Moof.Traf.Trun
	require.Equal(t, byte(1), trun.Version)
	require.Equal(t, int32(-400000), trun.Samples[1].CompositionTimeOffset)
	require.Equal(t, byte(0), f.Segments[0].Fragments[1].Moof.Traf.Trun.Version, "untouched where offsets are not negative")
}
