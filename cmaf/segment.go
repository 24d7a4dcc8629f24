package cmaf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/Eyevinn/mp4ff/mp4"
)

// segment is one CMAF media segment of a track: samples [first, end).
type segment struct {
	first, end int
	dts        uint64 // rebased decode time of the first sample
	dur        uint64 // in the track's timescale
}

// maxGap is the most bytes of other tracks' data a segment's one ranged
// read may carry between two of its samples before it is split in two
// reads (an interleaved progressive file puts audio between video chunks).
const maxGap = 256 << 10

// initSegment encodes t's CMAF header: ftyp and a moov with one track,
// its sample entry copied unchanged from the source, and the source's edit
// list when it has one.
func (t *Track) initSegment() ([]byte, error) {
	init := mp4.CreateEmptyInit()
	lang := t.Lang
	if lang == "" {
		lang = "und"
	}
	trak := init.AddEmptyTrack(t.Timescale, string(t.Kind), lang)
	trak.Tkhd.Width, trak.Tkhd.Height = mp4.Fixed32(t.tkhd[0]*65536), mp4.Fixed32(t.tkhd[1]*65536)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(t.entry)
	if len(t.edits) > 0 && t.movieScale > 0 {
		// The edit list as the source has it (an offset for B-frames'
		// composition delay, audio priming and its trimmed end), in the
		// source's movie timescale.
		init.Moov.Mvhd.Timescale = t.movieScale
		elst := &mp4.ElstBox{Entries: slices.Clone(t.edits)}
		for _, e := range elst.Entries {
			if e.SegmentDuration > math.MaxUint32 || e.MediaTime > math.MaxInt32 || e.MediaTime < -1 {
				elst.Version = 1
			}
		}
		edts := &mp4.EdtsBox{Elst: []*mp4.ElstBox{elst}, Children: []mp4.Box{elst}}
		trak.Edts = edts
		// edts belongs between tkhd and mdia.
		trak.Children = append([]mp4.Box{trak.Children[0], edts}, trak.Children[1:]...)
	}
	var b bytes.Buffer
	if err := init.Encode(&b); err != nil {
		return nil, fmt.Errorf("%w: encoding the init segment of %s: %v", ErrMedia, t.File, err)
	}
	return b.Bytes(), nil
}

// fragment builds the styp and moof of segment s with sample data from
// data (nil: sizes only, for the segment's size and head).
func (t *Track) fragment(s segment, seq uint32, data [][]byte) (*mp4.MediaSegment, error) {
	frag, err := mp4.CreateFragment(seq, 1)
	if err != nil {
		return nil, err
	}
	dts := s.dts
	for i := s.first; i < s.end; i++ {
		sm := t.samples[i]
		flags := mp4.NonSyncSampleFlags
		if sm.sync {
			flags = mp4.SyncSampleFlags
		}
		fs := mp4.FullSample{Sample: mp4.Sample{Flags: flags, Dur: sm.dur, Size: sm.size, CompositionTimeOffset: sm.cto}, DecodeTime: dts}
		if data != nil {
			fs.Data = data[i-s.first]
		}
		frag.AddFullSample(fs)
		dts += uint64(sm.dur)
	}
	ms := mp4.NewMediaSegmentWithStyp(mp4.NewStyp("cmfs", 0, []string{"cmfs", "msdh", "msix"}))
	ms.AddFragment(frag)
	return ms, nil
}

// segmentSize returns the encoded size of segment s, computed from the
// sample table alone.
func (t *Track) segmentSize(s segment, seq uint32) (int64, error) {
	ms, err := t.fragment(s, seq, nil)
	if err != nil {
		return 0, err
	}
	var data int64
	for i := s.first; i < s.end; i++ {
		data += int64(t.samples[i].size)
	}
	// Without data the mdat box is empty; its payload is the samples.
	return int64(ms.Size()) + data, nil
}

// writeSegment reads segment s's samples from r (the track's plaintext
// file), in as few ranged reads as the layout allows, and writes the
// encoded segment to w. Memory is the segment's size.
func (t *Track) writeSegment(ctx context.Context, w io.Writer, r io.ReaderAt, s segment, seq uint32) error {
	data := make([][]byte, s.end-s.first)
	for i := s.first; i < s.end; {
		// One read covers samples i..j-1.
		start, j := t.samples[i].off, i+1
		end := start + int64(t.samples[i].size)
		for j < s.end {
			sm := t.samples[j]
			if sm.off < end || sm.off-end > maxGap {
				break
			}
			end = sm.off + int64(sm.size)
			j++
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := make([]byte, end-start)
		if _, err := r.ReadAt(buf, start); err != nil {
			return fmt.Errorf("reading %s at %d: %w", t.File, start, err)
		}
		for k := i; k < j; k++ {
			o := t.samples[k].off - start
			data[k-s.first] = buf[o : o+int64(t.samples[k].size)]
		}
		i = j
	}
	ms, err := t.fragment(s, seq, data)
	if err != nil {
		return err
	}
	return ms.Encode(w)
}
