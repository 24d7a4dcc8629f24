package livearchive

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// Limits on what ParseManifest and ParseServerManifest accept, so that a
// hostile document costs bounded memory.
const (
	// MaxManifestSize is the largest manifest read, in bytes.
	MaxManifestSize = 32 << 20
	// MaxChunks is the most fragments the timelines of one client manifest
	// may name in all, repeats expanded (about 46 days of 2 s fragments).
	MaxChunks = 2 << 20
	// maxStreams bounds StreamIndex and QualityLevel elements alike.
	maxStreams = 1024
	maxDepth   = 64
)

// DefaultTimeScale is the client manifest's timescale when its root names
// none (MS-SSTR: 10 MHz).
const DefaultTimeScale = 10_000_000

// Manifest is a Smooth Streaming client manifest (.ismc, MS-SSTR): its
// streams and their fragment timelines.
type Manifest struct {
	// TimeScale is the document's timescale (DefaultTimeScale when absent).
	TimeScale uint64
	// Duration is the document's Duration, in TimeScale units (0 if absent).
	Duration uint64
	// Streams are the StreamIndex elements in document order.
	Streams []Stream
}

// Stream is one StreamIndex: a track kind and name, its quality levels and
// the timeline its fragments follow.
type Stream struct {
	// Type is "video", "audio" or "text" (lower case whatever the document's case).
	Type string
	// Subtype, Name, Language and URL are the attributes as written ("" if absent).
	Subtype, Name, Language, URL string
	// TimeScale is the stream's timescale: its own attribute, else the document's.
	TimeScale uint64
	// DeclaredChunks is the Chunks attribute (0 if absent); Timeline is what counts.
	DeclaredChunks uint64
	// QualityLevels are the stream's QualityLevel elements in order.
	QualityLevels []QualityLevel
	// Timeline is every fragment the <c> elements name, repeats expanded,
	// in increasing time.
	Timeline []Chunk
}

// QualityLevel is one encoding of a stream.
type QualityLevel struct {
	Index   uint64
	Bitrate uint64
	FourCC  string
	// CodecPrivateData is the hex codec configuration, as written.
	CodecPrivateData string
}

// Chunk is one fragment of a timeline, in its stream's timescale.
type Chunk struct {
	Start, Duration uint64
}

// End is the time the chunk ends.
func (c Chunk) End() uint64 { return c.Start + c.Duration }

// ParseManifest reads a client manifest (.ismc). It is strict about what the
// stitcher relies on — numbers are unsigned decimals, every <c> has a
// positive d, a t never goes back into the previous fragment, r counts the
// fragments of the run (absent: 1) — and names the element and attribute
// that fail; elements and attributes it does not use are ignored.
func ParseManifest(r io.Reader) (*Manifest, error) {
	data, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	m := &Manifest{TimeScale: DefaultTimeScale}
	var (
		st        *Stream
		next      uint64 // the end of the previous chunk of st
		chunks    int    // in all streams
		cIndex    int    // <c> elements of st so far
		sawRoot   bool
		rootDepth = 1
	)
	err = walk(data, func(t xml.StartElement, depth int) error {
		name := t.Name.Local
		switch {
		case depth == rootDepth:
			if name != "SmoothStreamingMedia" {
				return fmt.Errorf("%w: root element is %s, want SmoothStreamingMedia", ErrManifest, quote.Input(name))
			}
			sawRoot = true
			a, err := attrs(name, t.Attr)
			if err != nil {
				return err
			}
			if v, ok := a.get("TimeScale"); ok {
				if m.TimeScale, err = positive(name, "TimeScale", v); err != nil {
					return err
				}
			}
			if v, ok := a.get("Duration"); ok {
				if m.Duration, err = number(name, "Duration", v); err != nil {
					return err
				}
			}
		case depth == rootDepth+1 && name == "StreamIndex":
			if len(m.Streams) == maxStreams {
				return fmt.Errorf("%w: more than %d StreamIndex elements", ErrManifest, maxStreams)
			}
			s, err := streamIndex(t.Attr, m.TimeScale)
			if err != nil {
				return fmt.Errorf("%w (StreamIndex #%d)", err, len(m.Streams)+1)
			}
			m.Streams = append(m.Streams, s)
			st, next, cIndex = &m.Streams[len(m.Streams)-1], 0, 0
		case depth == rootDepth+2 && st != nil && name == "QualityLevel":
			if len(st.QualityLevels) == maxStreams {
				return fmt.Errorf("%w: StreamIndex %s has more than %d QualityLevel elements", ErrManifest, quote.Input(st.Name), maxStreams)
			}
			q, err := qualityLevel(t.Attr)
			if err != nil {
				return fmt.Errorf("%w (StreamIndex %s)", err, quote.Input(st.Name))
			}
			st.QualityLevels = append(st.QualityLevels, q)
		case depth == rootDepth+2 && st != nil && name == "c":
			cIndex++
			n, err := chunk(st, t.Attr, &next, MaxChunks-chunks)
			if err != nil {
				return fmt.Errorf("%w (StreamIndex %s, c #%d)", err, quote.Input(st.Name), cIndex)
			}
			chunks += n
		}
		return nil
	}, func(_ xml.EndElement, depth int) {
		if depth == rootDepth+1 {
			st = nil
		}
	})
	if err != nil {
		return nil, err
	}
	if !sawRoot {
		return nil, fmt.Errorf("%w: no SmoothStreamingMedia element", ErrManifest)
	}
	return m, nil
}

func streamIndex(as []xml.Attr, docScale uint64) (Stream, error) {
	const el = "StreamIndex"
	a, err := attrs(el, as)
	if err != nil {
		return Stream{}, err
	}
	s := Stream{TimeScale: docScale}
	typ, ok := a.get("Type")
	switch low := strings.ToLower(typ); {
	case !ok:
		return s, fmt.Errorf("%w: StreamIndex has no Type", ErrManifest)
	case low == "video" || low == "audio" || low == "text":
		s.Type = low
	default:
		return s, fmt.Errorf("%w: StreamIndex Type %s is not video, audio or text", ErrManifest, quote.Input(typ))
	}
	s.Subtype, _ = a.get("Subtype")
	s.Name, _ = a.get("Name")
	s.Language, _ = a.get("Language")
	s.URL, _ = a.get("Url")
	if v, ok := a.get("TimeScale"); ok {
		if s.TimeScale, err = positive(el, "TimeScale", v); err != nil {
			return s, err
		}
	}
	if v, ok := a.get("Chunks"); ok {
		if s.DeclaredChunks, err = number(el, "Chunks", v); err != nil {
			return s, err
		}
	}
	return s, nil
}

func qualityLevel(as []xml.Attr) (QualityLevel, error) {
	const el = "QualityLevel"
	a, err := attrs(el, as)
	if err != nil {
		return QualityLevel{}, err
	}
	var q QualityLevel
	if v, ok := a.get("Index"); ok {
		if q.Index, err = number(el, "Index", v); err != nil {
			return q, err
		}
	}
	v, ok := a.get("Bitrate")
	if !ok {
		return q, fmt.Errorf("%w: QualityLevel has no Bitrate", ErrManifest)
	}
	if q.Bitrate, err = number(el, "Bitrate", v); err != nil {
		return q, err
	}
	q.FourCC, _ = a.get("FourCC")
	q.CodecPrivateData, _ = a.get("CodecPrivateData")
	return q, nil
}

// chunk appends the fragments of one <c> to st.Timeline, at most budget of
// them, and returns how many.
func chunk(st *Stream, as []xml.Attr, next *uint64, budget int) (int, error) {
	a, err := attrs("c", as)
	if err != nil {
		return 0, err
	}
	start := *next
	if v, ok := a.get("t"); ok {
		if start, err = number("c", "t", v); err != nil {
			return 0, err
		}
		if start < *next {
			return 0, fmt.Errorf("%w: c t=%d starts before the previous fragment ends (%d)", ErrManifest, start, *next)
		}
	}
	v, ok := a.get("d")
	if !ok {
		return 0, fmt.Errorf("%w: c has no d", ErrManifest)
	}
	dur, err := positive("c", "d", v)
	if err != nil {
		return 0, err
	}
	repeat := uint64(1)
	if v, ok := a.get("r"); ok {
		if repeat, err = positive("c", "r", v); err != nil {
			return 0, err
		}
	}
	if repeat > uint64(budget) {
		return 0, fmt.Errorf("%w: c r=%d makes the timelines longer than %d fragments", ErrManifest, repeat, MaxChunks)
	}
	hi, span := bits.Mul64(dur, repeat)
	if hi != 0 || span > math.MaxUint64-start {
		return 0, fmt.Errorf("%w: c t=%d d=%d r=%d ends past 2^64", ErrManifest, start, dur, repeat)
	}
	for i := uint64(0); i < repeat; i++ {
		st.Timeline = append(st.Timeline, Chunk{Start: start + i*dur, Duration: dur})
	}
	*next = start + span
	return int(repeat), nil
}

// attrSet is an element's attributes, names compared without case (AMS
// documents vary it), each at most once.
type attrSet []xml.Attr

func attrs(el string, as []xml.Attr) (attrSet, error) {
	for i := range as {
		for j := range i {
			if as[j].Name.Space == as[i].Name.Space && strings.EqualFold(as[j].Name.Local, as[i].Name.Local) {
				return nil, fmt.Errorf("%w: %s repeats attribute %s", ErrManifest, el, quote.Input(as[i].Name.Local))
			}
		}
	}
	return attrSet(as), nil
}

func (a attrSet) get(name string) (string, bool) {
	for _, x := range a {
		if x.Name.Space == "" && strings.EqualFold(x.Name.Local, name) {
			return x.Value, true
		}
	}
	return "", false
}

func number(el, attr, v string) (uint64, error) {
	n, err := parse.Decimal(v, math.MaxUint64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s=%s: %v", ErrManifest, el, attr, quote.Input(v), err)
	}
	return n, nil
}

func positive(el, attr, v string) (uint64, error) {
	n, err := number(el, attr, v)
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %s %s is 0", ErrManifest, el, attr)
	}
	return n, err
}

func readBounded(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("livearchive: reading manifest: %w", err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrManifest, MaxManifestSize)
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}

// walk reads the XML document data, calling start for each start element
// and end for each end element with its depth (the root's is 1), and
// refuses elements nested deeper than maxDepth.
func walk(data []byte, start func(t xml.StartElement, depth int) error, end func(t xml.EndElement, depth int)) error {
	d := newDecoder(data)
	for depth := 0; ; {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrManifest, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return fmt.Errorf("%w: elements nested more than %d deep", ErrManifest, maxDepth)
			}
			if err := start(t, depth); err != nil {
				return err
			}
		case xml.EndElement:
			end(t, depth)
			depth--
		}
	}
}

func newDecoder(data []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(data))
	// AMS wrote UTF-8 but some documents declare utf-16 or nothing: read
	// the bytes as they are.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d
}
