package media

import "fmt"

// tsStream checks every packet of an MPEG-TS stream: each 188-byte packet
// starts with the sync byte 0x47, and the file ends at a packet's end.
type tsStream struct {
	pos   int64
	fault error
}

func (t *tsStream) err() error { return t.fault }

func (t *tsStream) write(p []byte) {
	i := int((tsPacketSize - t.pos%tsPacketSize) % tsPacketSize)
	for ; i < len(p); i += tsPacketSize {
		if p[i] != 0x47 {
			t.fault = tsSyncErr(t.pos+int64(i), p[i])
			break
		}
	}
	t.pos += int64(len(p))
}

// end reports a length that is not whole packets before any sync byte
// found missing, as VerifyAt does, which checks the length first.
func (t *tsStream) end(size int64) error {
	if err := tsSizeErr(size); err != nil {
		return err
	}
	return t.fault
}

func tsSyncErr(off int64, b byte) error {
	return structErr(FormatMPEGTS, off, "MPEG-TS packet at %d has no sync byte 0x47 (found %#02x)", off, b)
}

func tsSizeErr(size int64) error {
	if r := size % tsPacketSize; r != 0 {
		return structErr(FormatMPEGTS, size-r, "MPEG-TS ends at %d, %d bytes into the 188-byte packet at %d", size, r, size-r)
	}
	return nil
}

// tsSampled is how many packets VerifyAt checks at each end of a stream, and
// how many evenly spread between.
const (
	tsEnds    = 16
	tsSpread  = 64
	tsEndSpan = tsEnds * tsPacketSize
)

// verifyTSAt checks the length, the first and last tsEnds packets and
// tsSpread packets spread evenly between.
func verifyTSAt(r *countingReaderAt, size int64) error {
	if err := tsSizeErr(size); err != nil {
		return err
	}
	packets := size / tsPacketSize
	buf := make([]byte, min(size, tsEndSpan))
	check := func(off int64) error {
		n := min(int64(len(buf)), size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("media: reading %d bytes at %d: %w", n, off, err)
		}
		for i := int64(0); i < n; i += tsPacketSize {
			if buf[i] != 0x47 {
				return tsSyncErr(off+i, buf[i])
			}
		}
		return nil
	}
	if err := check(0); err != nil {
		return err
	}
	if packets <= 2*tsEnds {
		return check(max(0, size-tsEndSpan))
	}
	one := buf[:1]
	for k := int64(1); k <= tsSpread; k++ {
		off := (tsEnds + k*(packets-2*tsEnds)/(tsSpread+1)) * tsPacketSize
		if _, err := r.ReadAt(one, off); err != nil {
			return fmt.Errorf("media: reading the packet at %d: %w", off, err)
		}
		if one[0] != 0x47 {
			return tsSyncErr(off, one[0])
		}
	}
	return check(size - tsEndSpan)
}
