package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// pngWalker walks a PNG's chunk chain: the signature, then chunks of a
// 4-byte length, a 4-byte type, the data and a 4-byte CRC, from IHDR to
// IEND, which must end exactly where the file ends. CRCs are not checked:
// VerifyAt would have to read every byte.
type pngWalker struct {
	state  int // 0 signature, 1 chunk header, 2 past IEND
	chunks int
	cur    int64 // offset of the current chunk
	typ    string
	dlen   int64
}

func (w *pngWalker) step(d *driver) error {
	switch w.state {
	case 0:
		if !bytes.Equal(d.buf, pngSignature) {
			return structErr(FormatPNG, 0, "no PNG signature")
		}
		w.state = 1
		d.collect(8, 8)
		return nil
	case 1:
		w.cur, w.dlen, w.typ = d.bufOff, int64(binary.BigEndian.Uint32(d.buf)), string(d.buf[4:8])
		for i := 0; i < 4; i++ {
			if c := w.typ[i] | 0x20; c < 'a' || c > 'z' {
				return structErr(FormatPNG, w.cur, "no PNG chunk at %d: its type would be %s; the chunk chain is broken there", w.cur, quoteType(w.typ))
			}
		}
		if w.dlen > 1<<31-1 {
			return structErr(FormatPNG, w.cur, "PNG %s chunk at %d declares %d data bytes, over the 2^31-1 PNG allows", quoteType(w.typ), w.cur, w.dlen)
		}
		if w.chunks == 0 && w.typ != "IHDR" {
			return structErr(FormatPNG, w.cur, "PNG's first chunk is %s, not IHDR", quoteType(w.typ))
		}
		w.chunks++
		end := w.cur + 12 + w.dlen
		if d.size >= 0 && end > d.size {
			return w.cutErr(d.size)
		}
		if w.typ == "IEND" {
			w.state = 2
			d.collect(end, 1) // any byte found there is one too many
			return nil
		}
		d.collect(end, 8)
		return nil
	default:
		return structErr(FormatPNG, d.bufOff, "PNG's IEND chunk at %d ends at %d, but the file goes on past it", w.cur, d.bufOff)
	}
}

func (w *pngWalker) cutErr(size int64) error {
	return structErr(FormatPNG, w.cur, "PNG %s chunk at %d declares %d data bytes (%d with its header and CRC), the file ends at %d",
		w.typ, w.cur, w.dlen, w.dlen+12, size)
}

func (w *pngWalker) end(d *driver) error {
	switch {
	case d.skip > 0:
		return w.cutErr(d.pos)
	case w.state == 2:
		return nil
	case w.state == 0:
		return structErr(FormatPNG, 0, "no PNG signature: the file is %d bytes", d.pos)
	case len(d.buf) > 0:
		return structErr(FormatPNG, d.bufOff, "a PNG chunk header at %d is cut off: the file ends at %d, %d bytes into it", d.bufOff, d.pos, len(d.buf))
	}
	return structErr(FormatPNG, d.pos, "PNG's chunk chain ends at %d without an IEND chunk", d.pos)
}

// jpegWalker walks a JPEG's marker segments from SOI to the first SOS (start
// of scan); the entropy-coded data after it is not walked (it has no
// lengths), but the file must end with the EOI marker FF D9.
type jpegWalker struct {
	state int // 0 SOI, 1 marker, 2 segment length, 3 in the scan
	cur   int64
	mark  byte
	n     int64 // the current segment's length field
}

var jpegMarkerNames = map[byte]string{
	0xC0: "SOF0", 0xC1: "SOF1", 0xC2: "SOF2", 0xC3: "SOF3", 0xC4: "DHT", 0xCC: "DAC",
	0xDA: "SOS", 0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM",
}

func jpegMarker(m byte) string {
	if s, ok := jpegMarkerNames[m]; ok {
		return s
	}
	if m >= 0xE0 && m <= 0xEF {
		return fmt.Sprintf("APP%d", m-0xE0)
	}
	return fmt.Sprintf("FF%02X", m)
}

func (w *jpegWalker) step(d *driver) error {
	switch w.state {
	case 0:
		if d.buf[0] != 0xFF || d.buf[1] != 0xD8 {
			return structErr(FormatJPEG, 0, "no JPEG start-of-image marker FF D8")
		}
		w.state = 1
		d.collect(2, 2)
		return nil
	case 1:
		if d.buf[0] != 0xFF {
			return structErr(FormatJPEG, d.bufOff, "no JPEG marker at %d (found %#02x): the segment chain is broken there", d.bufOff, d.buf[0])
		}
		m := d.buf[1]
		switch {
		case m == 0xFF: // a fill byte: the second FF may start the marker
			d.buf = d.buf[:copy(d.buf, d.buf[1:])]
			d.bufOff++
			return nil
		case m == 0xD9:
			return structErr(FormatJPEG, d.bufOff, "JPEG's EOI marker at %d comes before any scan (SOS)", d.bufOff)
		case m == 0xD8 || m == 0x00:
			return structErr(FormatJPEG, d.bufOff, "no JPEG segment marker at %d (found FF %02X)", d.bufOff, m)
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			d.collect(d.bufOff+2, 2)
			return nil
		}
		w.cur, w.mark, w.state = d.bufOff, m, 2
		d.more(4)
		return nil
	case 2:
		n := int64(binary.BigEndian.Uint16(d.buf[2:]))
		w.n = n
		if n < 2 {
			return structErr(FormatJPEG, w.cur, "JPEG %s segment at %d declares a length of %d, under 2", jpegMarker(w.mark), w.cur, n)
		}
		end := w.cur + 2 + n
		if d.size >= 0 && end > d.size {
			return w.cutErr(n, d.size)
		}
		if w.mark == 0xDA {
			w.state = 3
			d.collect(end, 0)
			d.skipRest()
			return nil
		}
		w.state = 1
		d.collect(end, 2)
		return nil
	}
	return fmt.Errorf("media: internal error: JPEG state %d", w.state)
}

func (w *jpegWalker) cutErr(n, size int64) error {
	return structErr(FormatJPEG, w.cur, "JPEG %s segment at %d declares %d bytes, the file ends at %d", jpegMarker(w.mark), w.cur, n+2, size)
}

func (w *jpegWalker) end(d *driver) error {
	switch {
	case w.state == 3:
		tail, err := d.lastBytes()
		if err != nil {
			return err
		}
		if !bytes.HasSuffix(tail, []byte{0xFF, 0xD9}) || d.pos < d.bufOff+2 {
			return structErr(FormatJPEG, d.pos, "JPEG does not end with the EOI marker FF D9: its last bytes are % x", tail[max(0, len(tail)-2):])
		}
		return nil
	case d.skip > 0:
		return w.cutErr(w.n, d.pos)
	case len(d.buf) > 0:
		return structErr(FormatJPEG, d.bufOff, "a JPEG marker at %d is cut off: the file ends at %d", d.bufOff, d.pos)
	}
	return structErr(FormatJPEG, d.pos, "JPEG ends at %d before any scan (SOS)", d.pos)
}
