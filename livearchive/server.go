package livearchive

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/timescale"
)

// ServerManifest is what a server manifest (.ism, SMIL 2.0) says about a
// live archive's tracks: where each track's fragblobs are.
type ServerManifest struct {
	// Formats is the "formats" meta ("vod-fmp4", "vod-cmaf" for live
	// archives); "" when absent.
	Formats string
	// ClientManifest is the "clientManifestRelativePath" meta ("" if absent).
	ClientManifest string
	// Tracks are the switch's video, audio and textstream elements in order.
	Tracks []ServerTrack
}

// ServerTrack is one video, audio or textstream element of a .ism.
type ServerTrack struct {
	// Type is "video", "audio" or "text".
	Type string
	// Src is the track's fragblob prefix in a live archive ("video=1500000").
	Src string
	// SystemBitrate and SystemLanguage are the attributes (0, "" if absent).
	SystemBitrate  uint64
	SystemLanguage string
	// TrackID and TrackName are the params of those names (0, "" if absent).
	TrackID   uint64
	TrackName string
}

// ParseServerManifest reads a .ism. Element and attribute names are
// compared without case (AMS wrote "SystemLanguage" too); a byte-order mark
// is skipped.
func ParseServerManifest(r io.Reader) (*ServerManifest, error) {
	data, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	var (
		sm      ServerManifest
		cur     *ServerTrack
		sawRoot bool
	)
	err = walk(data, func(t xml.StartElement, depth int) error {
		name := strings.ToLower(t.Name.Local)
		if depth == 1 {
			if name != "smil" {
				return fmt.Errorf("%w: root element is %s, want smil", ErrManifest, quote.Input(t.Name.Local))
			}
			sawRoot = true
			return nil
		}
		a, err := attrs(t.Name.Local, t.Attr)
		if err != nil {
			return err
		}
		switch name {
		case "meta":
			n, _ := a.get("name")
			c, _ := a.get("content")
			switch {
			case strings.EqualFold(n, "formats"):
				sm.Formats = c
			case strings.EqualFold(n, "clientManifestRelativePath"):
				sm.ClientManifest = c
			}
		case "video", "audio", "textstream":
			if len(sm.Tracks) == maxStreams {
				return fmt.Errorf("%w: more than %d tracks", ErrManifest, maxStreams)
			}
			tr := ServerTrack{Type: strings.TrimSuffix(name, "stream")}
			tr.Src, _ = a.get("src")
			tr.SystemLanguage, _ = a.get("systemLanguage")
			if v, ok := a.get("systemBitrate"); ok {
				if tr.SystemBitrate, err = number(name, "systemBitrate", v); err != nil {
					return err
				}
			}
			sm.Tracks = append(sm.Tracks, tr)
			cur = &sm.Tracks[len(sm.Tracks)-1]
		case "param":
			if cur == nil {
				return nil
			}
			n, _ := a.get("name")
			v, _ := a.get("value")
			switch {
			case strings.EqualFold(n, "trackID"):
				if cur.TrackID, err = parse.Decimal(v, math.MaxUint32); err != nil {
					return fmt.Errorf("%w: param trackID=%s of %s: %v", ErrManifest, quote.Input(v), quote.Input(cur.Src), err)
				}
			case strings.EqualFold(n, "trackName"):
				cur.TrackName = v
			}
		}
		return nil
	}, func(t xml.EndElement, _ int) {
		switch strings.ToLower(t.Name.Local) {
		case "video", "audio", "textstream":
			cur = nil
		}
	})
	if err != nil {
		return nil, err
	}
	if !sawRoot {
		return nil, fmt.Errorf("%w: no smil element", ErrManifest)
	}
	return &sm, nil
}

// Track is one stitchable track of a live archive: a stream's quality level
// and the prefix its fragblobs are stored under.
type Track struct {
	// Prefix is the fragblobs' prefix: "<Prefix>/header", "<Prefix>/<time>".
	Prefix string
	// Stream is the StreamIndex the track belongs to; its Timeline and
	// TimeScale time the fragblobs.
	Stream *Stream
	// QualityLevel indexes Stream.QualityLevels.
	QualityLevel int
}

// Tracks pairs each quality level of m with its fragblob prefix. With a
// server manifest, a track is the .ism element whose src is its prefix,
// paired as Azure's migration tool does: the same type, a trackName equal
// to the StreamIndex Name (absent: the type) and a systemBitrate equal to
// the QualityLevel Bitrate; an .ism track that pairs with no quality level,
// or with two, is an error. Without one (ism nil), the prefix is AMS's own
// naming, "<Name>=<Bitrate>" (Name absent: the type), which the caller
// should check against the container's listing.
func (m *Manifest) Tracks(ism *ServerManifest) ([]Track, error) {
	var out []Track
	if ism == nil {
		for i := range m.Streams {
			s := &m.Streams[i]
			for j, q := range s.QualityLevels {
				out = append(out, Track{Prefix: streamName(s) + "=" + strconv.FormatUint(q.Bitrate, 10), Stream: s, QualityLevel: j})
			}
		}
		return out, nil
	}
	for _, st := range ism.Tracks {
		if st.Src == "" {
			return nil, fmt.Errorf("%w: .ism %s element without src", ErrManifest, st.Type)
		}
		name := st.TrackName
		if name == "" {
			name = st.Type
		}
		var found []Track
		for i := range m.Streams {
			s := &m.Streams[i]
			if s.Type != st.Type || streamName(s) != name {
				continue
			}
			for j, q := range s.QualityLevels {
				if q.Bitrate == st.SystemBitrate {
					found = append(found, Track{Prefix: st.Src, Stream: s, QualityLevel: j})
				}
			}
		}
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("%w: .ism track %s (%s %s, %d b/s) has no StreamIndex/QualityLevel in the .ismc", ErrManifest, quote.Input(st.Src), st.Type, quote.Input(name), st.SystemBitrate)
		case 1:
			out = append(out, found[0])
		default:
			return nil, fmt.Errorf("%w: .ism track %s (%s %s, %d b/s) matches %d quality levels of the .ismc", ErrManifest, quote.Input(st.Src), st.Type, quote.Input(name), st.SystemBitrate, len(found))
		}
	}
	return out, nil
}

func streamName(s *Stream) string {
	if s.Name != "" {
		return s.Name
	}
	return s.Type
}

// Origin is the earliest fragment start of all m's streams, in units of
// the timescale to, rounded down: the Options.Origin that puts every track of the
// archive on one timeline starting near 0 (audio that started later than
// video keeps its delay).
func (m *Manifest) Origin(to uint64) uint64 {
	best := -1
	for i := range m.Streams {
		s := &m.Streams[i]
		if len(s.Timeline) == 0 {
			continue
		}
		if best < 0 || less(s.Timeline[0].Start, s.TimeScale, m.Streams[best].Timeline[0].Start, m.Streams[best].TimeScale) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	s := &m.Streams[best]
	return timescale.Convert(s.Timeline[0].Start, s.TimeScale, to)
}

// less reports a/as < b/bs.
func less(a, as, b, bs uint64) bool {
	h1, l1 := bits.Mul64(a, bs)
	h2, l2 := bits.Mul64(b, as)
	return h1 < h2 || h1 == h2 && l1 < l2
}
