package cmaf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

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

// fragment builds the styp and moof of segment s, and an mdat that is
// its header alone, sized for the samples: writeSegment writes their data
// after it, straight from the buffers it read them into.
func (t *Track) fragment(s segment, seq uint32) (*mp4.MediaSegment, error) {
	frag, err := mp4.CreateFragment(seq, 1)
	if err != nil {
		return nil, err
	}
	for i := s.first; i < s.end; i++ {
		sm := t.samples[i]
		flags := mp4.NonSyncSampleFlags
		if sm.sync {
			flags = mp4.SyncSampleFlags
		}
		// AddSample counts the size into the mdat without taking data.
		frag.AddSample(mp4.Sample{Flags: flags, Dur: sm.dur, Size: sm.size, CompositionTimeOffset: sm.cto}, s.dts)
	}
	ms := mp4.NewMediaSegmentWithStyp(mp4.NewStyp("cmfs", 0, []string{"cmfs", "msdh", "msix"}))
	ms.AddFragment(frag)
	return ms, nil
}

// segmentHead encodes segment s up to its sample data: styp, moof and the
// mdat's header.
func (t *Track) segmentHead(s segment, seq uint32) (head []byte, mdatHeader int, size int64, err error) {
	ms, err := t.fragment(s, seq)
	if err != nil {
		return nil, 0, 0, err
	}
	var b bytes.Buffer
	if err := ms.Encode(&b); err != nil {
		return nil, 0, 0, err
	}
	return b.Bytes(), int(ms.Fragments[0].Mdat.HeaderSize()), int64(ms.Size()), nil
}

// segmentSize returns the encoded size of segment s, computed from the
// sample table alone.
func (t *Track) segmentSize(s segment, seq uint32) (int64, error) {
	ms, err := t.fragment(s, seq)
	if err != nil {
		return 0, err
	}
	return int64(ms.Size()), nil
}

// readBufs holds the buffers segments were read into, for the next
// segments: a package reads its whole asset a few megabytes at a time, and
// a fresh buffer for each read cost as much CPU in page faults, zeroing and
// garbage collection as decrypting it.
var readBufs sync.Pool // of *[]byte

// readBuf returns a buffer of n bytes from readBufs, or a new one with
// room to spare, so that segments of about the same size reuse it.
func readBuf(n int64) *[]byte {
	if b, ok := readBufs.Get().(*[]byte); ok && int64(cap(*b)) >= n {
		*b = (*b)[:n]
		return b
	}
	const grain = 256 << 10
	b := make([]byte, n, (n+grain-1)/grain*grain)
	return &b
}

// writeSegment reads segment s's samples from r (the track's plaintext
// file), in as few ranged reads as the layout allows, and writes the
// encoded segment to w: its head, then each run of contiguous sample data
// as it lies in the buffer it was read into, uncopied. Memory is the
// segment's size, in buffers that go back to readBufs when it is written.
func (t *Track) writeSegment(ctx context.Context, w io.Writer, r io.ReaderAt, s segment, seq uint32) error {
	var parts [][]byte
	var bufs []*[]byte
	defer func() {
		for _, b := range bufs {
			readBufs.Put(b)
		}
	}()
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
		b := readBuf(end - start)
		bufs = append(bufs, b)
		buf := *b
		if _, err := r.ReadAt(buf, start); err != nil {
			return fmt.Errorf("reading %s at %d: %w", t.File, start, err)
		}
		// The samples of one read are in order and do not overlap; those
		// with no gap between them go out as one part.
		from, to := int64(0), int64(t.samples[i].size)
		for k := i + 1; k < j; k++ {
			o := t.samples[k].off - start
			if o != to {
				parts = append(parts, buf[from:to])
				from = o
			}
			to = o + int64(t.samples[k].size)
		}
		parts = append(parts, buf[from:to])
		i = j
	}
	head, _, _, err := t.segmentHead(s, seq)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}
