package livearchive

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// Limits on the boxes a fragblob may hold.
const (
	// MaxHeaderSize is the largest header fragblob read.
	MaxHeaderSize = 16 << 20
	// MaxMoofSize is the most moof bytes of one fragment read into memory.
	MaxMoofSize = 8 << 20
	// maxBoxes bounds the top-level boxes of one fragment.
	maxBoxes = 4096
	// headSize is what the first read of a fragment asks for: enough for the
	// moof of a few seconds of video, and every box header before the mdat.
	headSize = 64 << 10
)

// part is a run of the stitched file: bytes held in data (a rewritten
// moof), or n bytes of the fragblob from offset blob.
type part struct {
	out  int64
	n    int64
	blob int64 // -1 for data
	data []byte
}

// fragPlan is how one fragblob becomes bytes of the stitched file. The
// bytes do not depend on where the fragment lands (every data offset is
// relative to its own moof), so parts count from the fragment's start.
type fragPlan struct {
	parts []part
	time  uint64 // the decode time of the first traf, after Origin
	size  int64  // of the fragment in the stitched file
}

// headReader serves ReadAt from the first bytes of a blob read once.
type headReader struct {
	r    io.ReaderAt
	size int64
	head []byte
}

func (h *headReader) load(buf []byte) error {
	if h.size < 0 {
		return fmt.Errorf("negative size %d", h.size)
	}
	n := min(int64(len(buf)), h.size)
	if _, err := readFull(h.r, buf[:n], 0); err != nil {
		return err
	}
	h.head = buf[:n]
	return nil
}

// bytesAt returns n bytes at off: from the head, or read into fresh memory.
func (h *headReader) bytesAt(off, n int64) ([]byte, error) {
	if off+n <= int64(len(h.head)) {
		return h.head[off : off+n], nil
	}
	b := make([]byte, n)
	if _, err := readFull(h.r, b, off); err != nil {
		return nil, err
	}
	return b, nil
}

func readFull(r io.ReaderAt, p []byte, off int64) (int, error) {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// planFragment reads the boxes of fragblob name (whose head h has loaded)
// and rewrites its moofs. nameTime is the time the name gives, used for a
// traf with neither tfxd nor tfdt.
func planFragment(h *headReader, name string, nameTime, origin uint64) (fp fragPlan, err error) {
	defer func() {
		// mp4ff answers most malformed boxes with an error; should one
		// still make it panic, that is a bad fragblob, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w %s: decoding boxes: %v", ErrFragment, quote.Input(name), r)
		}
	}()
	var (
		boxes     []fbox
		sawMoof   bool
		moofBytes int64
	)
	for off := int64(0); off < h.size; {
		if len(boxes) == maxBoxes {
			return fp, fmt.Errorf("%w %s: more than %d boxes", ErrFragment, quote.Input(name), maxBoxes)
		}
		hb, err := h.bytesAt(off, min(16, h.size-off))
		if err != nil {
			return fp, fmt.Errorf("livearchive: fragblob %s: reading box header at %d: %w", quote.Input(name), off, err)
		}
		hdr, err := mp4.DecodeHeaderSR(bits.NewFixedSliceReader(hb))
		if err != nil {
			return fp, fmt.Errorf("%w %s: box at %d: %v", ErrFragment, quote.Input(name), off, err)
		}
		if hdr.Size > uint64(h.size-off) {
			return fp, fmt.Errorf("%w %s: %s box at %d: size %d runs past the fragblob's end (%d)", ErrFragment, quote.Input(name), quote.Input(hdr.Name), off, hdr.Size, h.size)
		}
		b := fbox{typ: hdr.Name, off: off, n: int64(hdr.Size)}
		switch hdr.Name {
		case "moof":
			if moofBytes += b.n; moofBytes > MaxMoofSize {
				return fp, fmt.Errorf("%w %s: moof at %d: more than %d bytes of moof in one fragment", ErrFragment, quote.Input(name), off, MaxMoofSize)
			}
			raw, err := h.bytesAt(off, b.n)
			if err != nil {
				return fp, fmt.Errorf("livearchive: fragblob %s: reading moof at %d: %w", quote.Input(name), off, err)
			}
			dec, err := mp4.DecodeBoxSR(0, bits.NewFixedSliceReader(raw))
			if err != nil {
				return fp, fmt.Errorf("%w %s: moof at %d: %v", ErrFragment, quote.Input(name), off, err)
			}
			m, ok := dec.(*mp4.MoofBox)
			if !ok || len(m.Trafs) == 0 {
				return fp, fmt.Errorf("%w %s: moof at %d has no traf", ErrFragment, quote.Input(name), off)
			}
			if int64(m.Size()) != b.n {
				return fp, fmt.Errorf("%w %s: moof at %d: decodes to %d bytes, not its %d", ErrFragment, quote.Input(name), off, m.Size(), b.n)
			}
			b.bases = dataBases(m, off)
			t, err := retime(m, nameTime, origin)
			if err != nil {
				return fp, fmt.Errorf("%w %s: moof at %d: %v", ErrFragment, quote.Input(name), off, err)
			}
			if !sawMoof {
				fp.time = t
			}
			sawMoof = true
			b.moof, b.newSize = m, int64(m.Size())
		case "mdat":
			if !sawMoof {
				return fp, fmt.Errorf("%w %s: mdat at %d before any moof", ErrFragment, quote.Input(name), off)
			}
		}
		boxes = append(boxes, b)
		off += b.n
	}
	if !sawMoof {
		return fp, fmt.Errorf("%w %s: no moof", ErrFragment, quote.Input(name))
	}

	// Place the boxes kept: moofs rewritten, mdats and unknown boxes as
	// they are. A styp, sidx, prft or top-level uuid would be wrong or
	// meaningless in the middle of one file.
	pos := int64(0)
	moofAt := make(map[int]int) // box index → part index
	for i, b := range boxes {
		switch b.typ {
		case "styp", "sidx", "ssix", "prft", "free", "skip", "uuid", "mfra":
			continue
		case "moof":
			moofAt[i] = len(fp.parts)
			fp.parts = append(fp.parts, part{out: pos, n: b.newSize, blob: -1})
			pos += b.newSize
		default:
			fp.parts = append(fp.parts, part{out: pos, n: b.n, blob: b.off})
			pos += b.n
		}
	}
	fp.size = pos

	// Data offsets: each trun points at the same sample bytes, wherever the
	// rewriting moved them.
	for i, b := range boxes {
		if b.moof == nil {
			continue
		}
		p := &fp.parts[moofAt[i]]
		if err := fixOffsets(b.moof, b.bases, p.out, fp.parts); err != nil {
			return fp, fmt.Errorf("%w %s: moof at %d: %v", ErrFragment, quote.Input(name), b.off, err)
		}
		var buf bytes.Buffer
		buf.Grow(int(b.newSize))
		if err := b.moof.Encode(&buf); err != nil {
			return fp, fmt.Errorf("%w %s: encoding moof at %d: %v", ErrFragment, quote.Input(name), b.off, err)
		}
		if int64(buf.Len()) != b.newSize {
			return fp, fmt.Errorf("%w %s: moof at %d encodes to %d bytes, not %d", ErrFragment, quote.Input(name), b.off, buf.Len(), b.newSize)
		}
		p.data = buf.Bytes()
	}
	return fp, nil
}

// fbox is a top-level box of a fragblob.
type fbox struct {
	typ     string
	off, n  int64
	moof    *mp4.MoofBox // decoded and retimed
	bases   []int64      // per traf, see dataBases
	newSize int64        // of moof
}

// retime gives each traf of m a tfdt (the tfxd's time, else its own tfdt's,
// else nameTime, less origin) and drops the Smooth tfxd and tfrf boxes: the
// tfdt carries the time a player needs, and tfrf (the next fragments'
// times, for live clients) is meaningless in a file. It returns the first
// traf's new decode time.
func retime(m *mp4.MoofBox, nameTime, origin uint64) (uint64, error) {
	var first uint64
	for i, traf := range m.Trafs {
		if traf.Tfhd == nil || traf.Trun == nil {
			return 0, fmt.Errorf("traf #%d lacks tfhd or trun", i+1)
		}
		t, tfxd := nameTime, false
		kept := traf.Children[:0]
		for _, c := range traf.Children {
			if u, ok := c.(*mp4.UUIDBox); ok && (u.Tfxd != nil || u.Tfrf != nil) {
				if u.Tfxd != nil && !tfxd {
					t, tfxd = u.Tfxd.FragmentAbsoluteTime, true
				}
				continue
			}
			kept = append(kept, c)
		}
		traf.Children = kept
		if traf.Tfdt != nil {
			t = traf.Tfdt.BaseMediaDecodeTime()
		}
		if t < origin {
			return 0, fmt.Errorf("traf #%d starts at %d, before the origin %d", i+1, t, origin)
		}
		if traf.Tfdt != nil {
			traf.Tfdt.SetBaseMediaDecodeTime(t - origin)
		} else {
			traf.Tfdt = mp4.CreateTfdt(t - origin)
			at := 0
			for j, c := range traf.Children {
				if c == mp4.Box(traf.Tfhd) {
					at = j + 1
				}
			}
			traf.Children = append(traf.Children[:at], append([]mp4.Box{traf.Tfdt}, traf.Children[at:]...)...)
		}
		if traf.Saio != nil {
			return 0, fmt.Errorf("traf #%d has saio (sample auxiliary offsets): not supported", i+1)
		}
		if traf.Tfhd.HasBaseDataOffset() || traf.Tfhd.DefaultBaseIfMoof() || i == 0 {
			// Data offsets relative to the moof (as CMAF wants) make the
			// fragment's bytes the same wherever it lands; fixOffsets
			// computes them, the first trun given one if it had none.
			traf.Tfhd.Flags = traf.Tfhd.Flags&^mp4.TfhdBaseDataOffsetPresentFlag | mp4.TfhdDefaultBaseIsMoofFlag
			traf.Tfhd.BaseDataOffset = 0
			if !traf.Trun.HasDataOffset() {
				traf.Trun.Flags |= mp4.TrunDataOffsetPresentFlag
				traf.Trun.DataOffset = 0 // the samples start at the base
			}
		}
		for _, trun := range traf.Truns {
			// Expression Encoder wrote signed composition offsets in version 0
			// truns; the bits are the same, only the version says how to read them.
			if trun.Version == 0 && trun.HasSampleCompositionTimeOffset() {
				for _, s := range trun.Samples {
					if s.CompositionTimeOffset < 0 {
						trun.Version = 1
						break
					}
				}
			}
		}
		if i == 0 {
			first = t - origin
		}
	}
	return first, nil
}

// dataBases returns, per traf of m (which sits at blobAt in its fragblob),
// the fragblob offset its data offsets count from: its explicit base data
// offset, else the moof's start (default-base-is-moof, or the first traf),
// else -1 (the end of the previous traf's data: relative already).
func dataBases(m *mp4.MoofBox, blobAt int64) []int64 {
	bases := make([]int64, len(m.Trafs))
	for i, traf := range m.Trafs {
		switch tfhd := traf.Tfhd; {
		case tfhd == nil:
			bases[i] = -1 // retime refuses it
		case tfhd.HasBaseDataOffset():
			bases[i] = int64(min(tfhd.BaseDataOffset, math.MaxInt64))
		case tfhd.DefaultBaseIfMoof() || i == 0:
			bases[i] = blobAt
		default:
			bases[i] = -1
		}
	}
	return bases
}

// fixOffsets sets the data offsets of m's truns, relative to the moof's
// new place outAt, so that each points at the samples it pointed at from
// bases (see dataBases) in the fragblob, wherever parts put them.
func fixOffsets(m *mp4.MoofBox, bases []int64, outAt int64, parts []part) error {
	// where maps a fragblob offset to the stitched fragment: a byte of a
	// box copied as it is (or the end of one: a run of no samples).
	where := func(p int64) (int64, error) {
		for _, pt := range parts {
			if pt.blob >= 0 && p >= pt.blob && p <= pt.blob+pt.n {
				return pt.out + p - pt.blob, nil
			}
		}
		return 0, fmt.Errorf("data at fragblob offset %d is in no mdat", p)
	}
	for i, traf := range m.Trafs {
		if bases[i] < 0 {
			continue
		}
		for j, trun := range traf.Truns {
			if !trun.HasDataOffset() {
				continue
			}
			p := bases[i] + int64(trun.DataOffset)
			if p < 0 || p < bases[i] && trun.DataOffset > 0 {
				return fmt.Errorf("traf #%d trun #%d: data offset %d from %d", i+1, j+1, trun.DataOffset, bases[i])
			}
			at, err := where(p)
			if err != nil {
				return fmt.Errorf("traf #%d trun #%d: %v", i+1, j+1, err)
			}
			d := at - outAt
			if d < math.MinInt32 || d > math.MaxInt32 || d == 0 {
				return fmt.Errorf("traf #%d trun #%d: data offset %d from the moof", i+1, j+1, d)
			}
			trun.DataOffset = int32(d)
		}
	}
	return nil
}

// rewriteHeader returns the init segment of a header fragblob: its ftyp and
// moov, the moov given mvex with a trex per trak when it has none (players
// refuse moofs otherwise). Other top-level boxes go: AMS put a Smooth
// stream-manifest uuid box there that packagers refuse.
func rewriteHeader(data []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w %s: decoding boxes: %v", ErrFragment, HeaderName, r)
		}
	}()
	var buf bytes.Buffer
	sawMoov := false
	for off := 0; off < len(data); {
		hdr, err := mp4.DecodeHeaderSR(bits.NewFixedSliceReader(data[off:min(len(data), off+16)]))
		if err != nil {
			return nil, fmt.Errorf("%w %s: box at %d: %v", ErrFragment, HeaderName, off, err)
		}
		if hdr.Size > uint64(len(data)-off) {
			return nil, fmt.Errorf("%w %s: %s box at %d: size %d runs past the end (%d)", ErrFragment, HeaderName, quote.Input(hdr.Name), off, hdr.Size, len(data))
		}
		raw := data[off : off+int(hdr.Size)]
		switch hdr.Name {
		case "ftyp":
			buf.Write(raw)
		case "moov":
			if sawMoov {
				return nil, fmt.Errorf("%w %s: a second moov at %d", ErrFragment, HeaderName, off)
			}
			sawMoov = true
			moov, err := addMvex(raw)
			if err != nil {
				return nil, fmt.Errorf("%w %s: moov at %d: %v", ErrFragment, HeaderName, off, err)
			}
			buf.Write(moov)
		}
		off += int(hdr.Size)
	}
	if !sawMoov {
		return nil, fmt.Errorf("%w %s: no moov", ErrFragment, HeaderName)
	}
	return buf.Bytes(), nil
}

// addMvex returns raw when the moov has mvex (its bytes as the encoder
// wrote them), else the moov re-encoded with one.
func addMvex(raw []byte) ([]byte, error) {
	dec, err := mp4.DecodeBoxSR(0, bits.NewFixedSliceReader(raw))
	if err != nil {
		return nil, err
	}
	moov, ok := dec.(*mp4.MoovBox)
	if !ok || len(moov.Traks) == 0 {
		return nil, fmt.Errorf("no trak")
	}
	if moov.Mvex != nil {
		return raw, nil
	}
	mvex := mp4.NewMvexBox()
	for _, trak := range moov.Traks {
		if trak.Tkhd == nil {
			return nil, fmt.Errorf("trak without tkhd")
		}
		mvex.AddChild(mp4.CreateTrex(trak.Tkhd.TrackID))
	}
	moov.AddChild(mvex)
	var buf bytes.Buffer
	if err := moov.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
