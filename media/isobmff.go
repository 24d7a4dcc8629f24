package media

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// The chain of top-level boxes is walked here from each box's 8- or 16-byte
// header. mp4.DecodeHeader refuses two things the chain must accept (a box
// of size 0, which runs to the end of the file, and a 64-bit size on any
// box but mdat), so the header's two fields are read here; every box this
// package looks inside (moov, moof) is decoded by mp4ff.

type isoState int

const (
	isoHeader isoState = iota // d.buf: 8 bytes of a box header
	isoLarge                  // d.buf: 16 bytes, the 64-bit size
	isoBody                   // d.buf: a whole moov or moof box
)

// span is a byte range [start, end) of the file.
type span struct{ start, end int64 }

// box is one top-level box.
type box struct {
	typ    string
	off    int64
	size   int64 // -1: runs to the end of a file of unknown length
	hdrLen int64
}

func (b box) String() string { return fmt.Sprintf("%s box at %d", quoteType(b.typ), b.off) }

// quoteType shows a box type as is when it is printable, else quoted.
func quoteType(t string) string {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] > 0x7e {
			return quote.Input(t)
		}
	}
	return t
}

// pendingMoof is a moof waiting for its mdat: its samples' byte ranges.
type pendingMoof struct {
	box
	data []sampleRun
}

// sampleRun is where a trun's samples lie.
type sampleRun struct {
	track uint32
	span
}

type isoWalker struct {
	f     Format
	kind  isoKind
	state isoState
	cur   box
	boxes []string // types of the first top-level boxes, for messages
	count int
	moov  *box
	moovB *mp4.MoovBox // nil when not decoded
	moofs int
	mdats []span // payloads, in file order
	moof  *pendingMoof
	// remark says what was let through unchecked (see decode).
	remark string
}

func (w *isoWalker) note() string { return w.remark }

func newISOWalker(f Format, kind isoKind) *isoWalker { return &isoWalker{f: f, kind: kind} }

func (w *isoWalker) fail(off int64, format string, args ...any) error {
	return structErr(w.f, off, format, args...)
}

func (w *isoWalker) step(d *driver) error {
	switch w.state {
	case isoHeader:
		size32 := binary.BigEndian.Uint32(d.buf)
		b := box{typ: string(d.buf[4:8]), off: d.bufOff, size: int64(size32), hdrLen: 8}
		if quoteType(b.typ) != b.typ {
			return w.fail(b.off, "no box at %d: its type would be %s; the chain of boxes is broken there", b.off, quoteType(b.typ))
		}
		switch {
		case size32 == 1:
			w.cur, w.state = b, isoLarge
			d.more(16)
			return nil
		case size32 == 0:
			b.size = -1
			if d.size >= 0 {
				b.size = d.size - b.off
			}
		case size32 < 8:
			return w.fail(b.off, "%s declares %d bytes, less than its 8-byte header", b, size32)
		}
		return w.start(d, b)
	case isoLarge:
		b := w.cur
		large := binary.BigEndian.Uint64(d.buf[8:])
		if large < 16 || large > math.MaxInt64-uint64(b.off) {
			return w.fail(b.off, "%s declares a 64-bit size of %d bytes, impossible", b, large)
		}
		b.size, b.hdrLen = int64(large), 16
		return w.start(d, b)
	default: // isoBody
		if err := w.decode(d.buf, w.cur); err != nil {
			return err
		}
		w.state = isoHeader
		d.collect(w.cur.off+w.cur.size, 8)
		return nil
	}
}

// start handles a box whose header has been read.
func (w *isoWalker) start(d *driver, b box) error {
	if b.size >= 0 && b.size > math.MaxInt64-b.off {
		return w.fail(b.off, "%s declares %d bytes, impossible", b, b.size)
	}
	if d.size >= 0 && b.off+b.size > d.size {
		return w.fail(b.off, "%s declares %d bytes, the file ends at %d", b, b.size, d.size)
	}
	w.count++
	if len(w.boxes) < 8 {
		w.boxes = append(w.boxes, b.typ)
	}
	if w.moof != nil && b.typ != "mdat" {
		return w.fail(b.off, "%s follows the moof box at %d, which must be followed by its mdat", b, w.moof.off)
	}
	switch b.typ {
	case "moov":
		if w.moov != nil {
			return w.fail(b.off, "a second moov box at %d (the first is at %d)", b.off, w.moov.off)
		}
		if w.kind == isoFragment {
			return w.fail(b.off, "a live-archive fragment holds a moov box at %d; fragments are moof and mdat, the header holds moov", b.off)
		}
		w.moov = &b
	case "moof":
		if w.kind == isoInit {
			return w.fail(b.off, "a live-archive header holds a moof box at %d; a header is an init segment (ftyp, moov)", b.off)
		}
		w.moofs++
	case "mdat":
		if w.kind == isoInit {
			return w.fail(b.off, "a live-archive header holds an mdat box at %d; a header is an init segment (ftyp, moov)", b.off)
		}
		payload := span{b.off + b.hdrLen, b.off + b.size}
		if b.size < 0 {
			payload.end = math.MaxInt64
		}
		if w.moof != nil {
			if err := w.checkFragment(b, payload); err != nil {
				return err
			}
			w.moof = nil
		}
		w.mdats = append(w.mdats, payload)
	}
	w.cur = b
	if b.size < 0 {
		d.skipRest()
		return nil
	}
	if (b.typ == "moov" || b.typ == "moof") && b.size <= MaxCapturedBox {
		w.state = isoBody
		d.more(int(b.size))
		return nil
	}
	if b.typ == "moof" {
		w.moof = &pendingMoof{box: b} // too big to decode: only the pairing counts
	}
	w.state = isoHeader
	d.collect(b.off+b.size, 8)
	return nil
}

func (w *isoWalker) end(d *driver) error {
	switch {
	case d.skip > 0 || (w.state == isoBody && len(d.buf) > 0):
		return w.fail(w.cur.off, "%s declares %d bytes, the file ends at %d", w.cur, w.cur.size, d.pos)
	case w.state == isoLarge:
		return w.fail(w.cur.off, "%s has a 64-bit size cut off: the file ends at %d", w.cur, d.pos)
	case len(d.buf) > 0:
		return w.fail(d.bufOff, "a box header at %d is cut off: the file ends at %d, %d bytes into it", d.bufOff, d.pos, len(d.buf))
	case w.count == 0:
		return w.fail(0, "no box: the file is empty")
	case w.moof != nil:
		return w.fail(w.moof.off, "the moof box at %d has no mdat after it: the file ends at %d", w.moof.off, d.pos)
	}
	switch w.kind {
	case isoFragment:
		if w.moofs == 0 {
			return w.fail(0, "a live-archive fragment with no moof box (top-level boxes: %s)", w.list())
		}
		return nil
	case isoInit:
		if w.moov == nil {
			return w.fail(0, "a live-archive header with no moov box (top-level boxes: %s)", w.list())
		}
		return nil
	}
	if w.moov == nil {
		return w.fail(0, "no moov box (top-level boxes: %s); a file whose moov was lost does not play", w.list())
	}
	if w.moofs == 0 && w.moovB != nil && w.moovB.Mvex != nil {
		return w.fail(w.moov.off, "the moov box at %d announces fragments (mvex) but no moof box follows: the file ends at %d", w.moov.off, d.pos)
	}
	if w.moofs == 0 && w.moovB != nil {
		return w.checkSamples()
	}
	return nil
}

func (w *isoWalker) list() string {
	s := strings.Join(w.boxes, ", ")
	if w.count > len(w.boxes) {
		s += fmt.Sprintf(" and %d more", w.count-len(w.boxes))
	}
	return s
}

// decode decodes a captured moov or moof with mp4ff.
func (w *isoWalker) decode(b []byte, at box) error {
	if at.hdrLen == 16 || binary.BigEndian.Uint32(b) == 0 {
		// mp4ff takes a 64-bit size only on mdat, and no size 0 (to the
		// end of the file): give it the 32-bit form, which a box under
		// MaxCapturedBox fits.
		n := len(b) - int(at.hdrLen) + 8
		nb := make([]byte, 8, n)
		binary.BigEndian.PutUint32(nb, uint32(n))
		copy(nb[4:], at.typ)
		b = append(nb, b[at.hdrLen:]...)
	}
	decoded, err := decodeBox(b, at.off)
	if err != nil {
		// mp4ff is strict about boxes some muxers write loosely (QuickTime
		// sample descriptions, for one): a box whose children still form
		// a whole chain is let through, and the Result says what was not
		// checked. A broken chain inside it is damage.
		if broken := childChain(b[8:], at.off+8); broken != "" {
			return w.fail(at.off, "%s does not decode: %s", at, broken)
		}
		if w.remark == "" {
			w.remark = fmt.Sprintf("the %s holds whole child boxes that mp4ff does not read (%s): its samples were not checked against the mdat boxes",
				at, quote.Input(err.Error()))
		}
		if at.typ == "moof" {
			w.moof = &pendingMoof{box: at}
		}
		return nil
	}
	switch x := decoded.(type) {
	case *mp4.MoovBox:
		w.moovB = x
	case *mp4.MoofBox:
		w.moof = &pendingMoof{box: at, data: w.fragmentData(x, at)}
	}
	return nil
}

// childChain checks that the boxes in payload, which starts at off, end
// exactly where it ends, reading each header with mp4ff; it returns what
// breaks the chain, or "".
func childChain(payload []byte, off int64) string {
	sr := bits.NewFixedSliceReader(payload)
	for sr.NrRemainingBytes() > 0 {
		at := off + int64(sr.GetPos())
		if sr.NrRemainingBytes() < 8 {
			return fmt.Sprintf("%d stray bytes at %d after its last child box", sr.NrRemainingBytes(), at)
		}
		h, err := mp4.DecodeHeaderSR(sr)
		if err != nil {
			return fmt.Sprintf("its child box at %d: %s", at, quote.Input(err.Error()))
		}
		body := h.Size - uint64(h.Hdrlen)
		if body > uint64(sr.NrRemainingBytes()) {
			return fmt.Sprintf("its child %s box at %d declares %d bytes, past its end at %d",
				quoteType(h.Name), at, h.Size, off+int64(len(payload)))
		}
		sr.SkipBytes(int(body))
	}
	return ""
}

// decodeBox runs mp4ff on one box; a panic in it on hostile input is an
// error like any other.
func decodeBox(b []byte, off int64) (box mp4.Box, err error) {
	defer func() {
		if r := recover(); r != nil {
			box, err = nil, fmt.Errorf("mp4ff: %v", r)
		}
	}()
	sr := bits.NewFixedSliceReader(b)
	box, err = mp4.DecodeBoxSR(uint64(off), sr)
	if err == nil && sr.NrRemainingBytes() != 0 {
		err = fmt.Errorf("%d bytes left over after its children", sr.NrRemainingBytes())
	}
	return box, err
}

// fragmentData returns where each trun of a moof says its samples lie, for
// the truns whose sample sizes are known (from the trun, the tfhd, or the
// trex of this file's moov).
func (w *isoWalker) fragmentData(moof *mp4.MoofBox, at box) []sampleRun {
	var runs []sampleRun
	next, nextKnown := at.off, true // the default base of the first traf is the moof
	for _, traf := range moof.Trafs {
		tfhd := traf.Tfhd
		var base int64
		switch {
		case tfhd == nil || tfhd.HasBaseDataOffset():
			// No header, or an absolute offset in the file the fragment
			// was cut from (for a fragblob, not this file): nothing to
			// check, and the next traf's default base is lost too.
			nextKnown = false
			continue
		case tfhd.DefaultBaseIfMoof():
			base = at.off
		case nextKnown:
			base = next // the end of the previous traf's data
		default:
			continue
		}
		defSize, known := tfhd.DefaultSampleSize, tfhd.HasDefaultSampleSize()
		if !known && w.moovB != nil && w.moovB.Mvex != nil {
			for _, trex := range w.moovB.Mvex.Trexs {
				if trex.TrackID == tfhd.TrackID {
					defSize, known = trex.DefaultSampleSize, true
				}
			}
		}
		pos, posKnown := base, true
		for _, trun := range traf.Truns {
			if trun.HasDataOffset() {
				pos, posKnown = base+int64(trun.DataOffset), true
			}
			var n int64
			switch {
			case trun.HasSampleSize():
				for _, s := range trun.Samples {
					n += int64(s.Size)
				}
			case known:
				n = int64(defSize) * int64(trun.SampleCount())
			default:
				posKnown = false // this run's length, and so the next one's start, is unknown
				continue
			}
			if posKnown {
				runs = append(runs, sampleRun{tfhd.TrackID, span{pos, pos + n}})
			}
			pos += n
		}
		next, nextKnown = pos, posKnown
	}
	return runs
}

// checkFragment checks that a moof's samples lie in the mdat after it.
func (w *isoWalker) checkFragment(mdat box, payload span) error {
	for _, r := range w.moof.data {
		if r.start == r.end {
			continue
		}
		if r.start < payload.start || r.end > payload.end {
			return w.fail(w.moof.off, "the moof box at %d puts track %d's samples at %d-%d, outside the payload %d-%d of its mdat at %d",
				w.moof.off, r.track, r.start, r.end, payload.start, payload.end, mdat.off)
		}
	}
	return nil
}

// checkSamples checks that every chunk of every track of a progressive
// file lies in one of its mdat boxes, and that the sample tables agree on
// the number of samples.
func (w *isoWalker) checkSamples() error {
	sort.Slice(w.mdats, func(i, j int) bool { return w.mdats[i].start < w.mdats[j].start })
	for i, trak := range w.moovB.Traks {
		if trak.Mdia == nil || trak.Mdia.Minf == nil || trak.Mdia.Minf.Stbl == nil {
			return w.fail(w.moov.off, "track %d of the moov box at %d has no sample table (stbl)", i+1, w.moov.off)
		}
		stbl := trak.Mdia.Minf.Stbl
		var offsets []uint64
		switch {
		case stbl.Stco != nil:
			for _, o := range stbl.Stco.ChunkOffset {
				offsets = append(offsets, uint64(o))
			}
		case stbl.Co64 != nil:
			offsets = stbl.Co64.ChunkOffset
		}
		if stbl.Stsz == nil || stbl.Stsc == nil {
			if len(offsets) == 0 {
				continue
			}
			return w.fail(w.moov.off, "track %d of the moov box at %d has chunks but no stsz or stsc", i+1, w.moov.off)
		}
		if err := w.checkTrack(i+1, offsets, stbl.Stsc, stbl.Stsz); err != nil {
			return err
		}
	}
	return nil
}

func (w *isoWalker) checkTrack(track int, offsets []uint64, stsc *mp4.StscBox, stsz *mp4.StszBox) error {
	samples := uint64(stsz.SampleNumber)
	var sample uint64 // samples accounted for so far
	e := 0
	for c := range offsets {
		chunk := uint32(c + 1)
		for e+1 < len(stsc.Entries) && stsc.Entries[e+1].FirstChunk <= chunk {
			e++
		}
		if len(stsc.Entries) == 0 || stsc.Entries[e].FirstChunk > chunk {
			return w.fail(w.moov.off, "track %d: stsc says nothing of chunk %d", track, chunk)
		}
		per := uint64(stsc.Entries[e].SamplesPerChunk)
		if sample+per > samples {
			return w.fail(w.moov.off, "track %d: stsc puts more samples in its %d chunks than the %d of stsz", track, len(offsets), samples)
		}
		var n uint64
		if stsz.SampleUniformSize != 0 {
			n = per * uint64(stsz.SampleUniformSize)
		} else {
			for _, s := range stsz.SampleSize[sample : sample+per] {
				n += uint64(s)
			}
		}
		sample += per
		start := offsets[c]
		if n == 0 {
			continue
		}
		if start > math.MaxInt64-n || !w.inMdat(span{int64(start), int64(start + n)}) {
			return w.fail(int64(min(start, math.MaxInt64)), "track %d's chunk %d at %d (%d bytes) lies outside every mdat box", track, chunk, start, n)
		}
	}
	if sample != samples {
		return w.fail(w.moov.off, "track %d: its %d chunks hold %d samples, stsz lists %d", track, len(offsets), sample, samples)
	}
	return nil
}

func (w *isoWalker) inMdat(s span) bool {
	i := sort.Search(len(w.mdats), func(i int) bool { return w.mdats[i].end >= s.end })
	return i < len(w.mdats) && w.mdats[i].start <= s.start
}
