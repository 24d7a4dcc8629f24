package cmaf

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/timescale"
)

// DefaultSegmentDuration is the segment duration when Options names none;
// Options.SegmentDuration is between MinSegmentDuration and
// MaxSegmentDuration otherwise.
const (
	DefaultSegmentDuration = 6 * time.Second
	MinSegmentDuration     = time.Second
	MaxSegmentDuration     = time.Minute
)

// Options tunes packaging. The zero value (or nil) is the default.
type Options struct {
	// SegmentDuration is the target: a segment starts at the first sync
	// sample of the reference video track at least this long after the
	// previous one, so a segment is never shorter (but the last) and
	// longer only as far as the GOP forces. 0: DefaultSegmentDuration;
	// between 1 s and 60 s otherwise.
	SegmentDuration time.Duration
	// Workers is how many segments are read and written at once
	// (0: 4; at most 64).
	Workers int
	// Progress, if set, is called as files are placed (or found complete)
	// with how many of how many.
	Progress func(what string, done, total int)
}

func (o *Options) withDefaults() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.SegmentDuration == 0 {
		v.SegmentDuration = DefaultSegmentDuration
	}
	if v.SegmentDuration < MinSegmentDuration || v.SegmentDuration > MaxSegmentDuration {
		return v, fmt.Errorf("%w: segment duration %v is not between 1s and 1m", blobcrypt.ErrInvalidOptions, v.SegmentDuration)
	}
	if v.Workers == 0 {
		v.Workers = 4
	}
	if v.Workers < 1 || v.Workers > 64 {
		return v, fmt.Errorf("%w: %d workers, want 1 to 64", blobcrypt.ErrInvalidOptions, v.Workers)
	}
	return v, nil
}

// Presentation is one asset's tracks cut into aligned CMAF segments: what
// an HLS multivariant playlist and a DASH MPD describe.
type Presentation struct {
	// Dir is where the presentation's outputs go, relative to the
	// package's root: "" for the root, else ending in "/".
	Dir string
	// Tracks are the video tracks (highest bandwidth first), then audio,
	// then text.
	Tracks []*Track
	// Names are each track's output name: "video-1", "audio-2-eng", …
	Names []string
	// ISM is the server manifest it comes from ("" for none).
	ISM string
	// Notes say what of the asset was left out, and why.
	Notes []string

	files    Files
	segs     [][]segment
	rates    [][2]uint64 // per track: peak and average bits per second
	duration float64     // seconds
	target   time.Duration
}

// Duration is the presentation's length in seconds (its longest track).
func (p *Presentation) Duration() float64 { return p.duration }

// Segments is the number of media segments of track i (0 for text).
func (p *Presentation) Segments(i int) int { return len(p.segs[i]) }

// NewPresentation cuts tracks into segments. Video renditions must have
// sync samples at the same times (an adaptive ladder with aligned GOPs);
// audio is cut at the first sample at or after each video boundary.
func NewPresentation(dir string, tracks []*Track, opts *Options) (*Presentation, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Presentation{Dir: dir, target: o.SegmentDuration}
	var video, audio, text []*Track
	for _, t := range tracks {
		switch t.Kind {
		case Video:
			video = append(video, t)
		case Audio:
			audio = append(audio, t)
		case Text:
			text = append(text, t)
		}
	}
	if len(video)+len(audio) == 0 {
		return nil, fmt.Errorf("%w: no video or audio track to package", ErrMedia)
	}
	slices.SortStableFunc(video, func(a, b *Track) int { return cmp.Compare(b.bandwidthHint(), a.bandwidthHint()) })
	p.Tracks = slices.Concat(video, audio, text)
	ref := append(video, audio...)[0]
	bounds := boundaries(ref, o.SegmentDuration)
	// Rebase every track so that the earliest sample plays at 0, by one
	// offset in seconds for all (a live archive starts at its wall clock).
	start := new(big.Rat)
	for i, t := range append(video, audio...) {
		r := big.NewRat(int64(t.samples[0].dts), int64(t.Timescale))
		if i == 0 || r.Cmp(start) < 0 {
			start = r
		}
	}
	names := map[Kind]int{}
	for _, t := range p.Tracks {
		names[t.Kind]++
		n := fmt.Sprintf("%s-%d", t.Kind, names[t.Kind])
		if t.Kind != Video && t.Lang != "" {
			n += "-" + t.Lang
		}
		p.Names = append(p.Names, n)
		var segs []segment
		switch t.Kind {
		case Video:
			segs, err = cut(t, bounds, ref, true, start)
		case Audio:
			segs, err = cut(t, bounds, ref, false, start)
		}
		if err != nil {
			return nil, err
		}
		p.segs = append(p.segs, segs)
		if t.Kind != Text {
			p.duration = max(p.duration, float64(t.Duration)/float64(t.Timescale))
		}
	}
	if err := p.measure(); err != nil {
		return nil, err
	}
	return p, nil
}

// bandwidthHint orders renditions: the declared bitrate, else the size.
func (t *Track) bandwidthHint() uint64 {
	if t.Bitrate > 0 {
		return t.Bitrate
	}
	return uint64(t.Size)
}

// language returns a language tag as manifests carry it: letters, digits
// and hyphens, at most 35 characters (BCP 47's longest useful tag); ""
// for "und".
func language(s string) string {
	s = safeName(s)
	if len(s) > 35 {
		s = s[:35]
	}
	if s == "und" {
		return ""
	}
	return s
}

// safeName keeps the letters, digits and hyphens of s.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}

// boundaries returns the indices of ref's samples that start segments:
// sync samples at least target after the previous start.
func boundaries(ref *Track, target time.Duration) []int {
	step := uint64(math.Round(target.Seconds() * float64(ref.Timescale)))
	out := []int{0}
	last := ref.samples[0].dts
	for i, s := range ref.samples[1:] {
		if s.sync && s.dts-last >= step {
			out = append(out, i+1)
			last = s.dts
		}
	}
	return out
}

// cut cuts t at the times of ref's boundary samples. A video track must
// have a sync sample at each (within half a frame); any other track is cut
// at its first sample at or after each.
func cut(t *Track, bounds []int, ref *Track, video bool, start *big.Rat) ([]segment, error) {
	if video && !t.samples[0].sync {
		// Not a matter of alignment: no segment of it could start a
		// decoder, the first included.
		return nil, fmt.Errorf("%w: %s track %d does not start with a sync sample (its stss or sample flags mark none there)", ErrMedia, t.File, t.ID)
	}
	base := new(big.Rat).Mul(start, big.NewRat(int64(t.Timescale), 1))
	rebase := base.Num().Uint64() / base.Denom().Uint64() // floor
	var firsts []int
	j := 0
	for _, b := range bounds {
		// The boundary's time in t's timescale.
		at := timescale.Convert(ref.samples[b].dts, uint64(ref.Timescale), uint64(t.Timescale))
		for j < len(t.samples) && t.samples[j].dts+uint64(t.samples[j].dur)/2 < at {
			j++
		}
		if j == len(t.samples) {
			break
		}
		if video && (!t.samples[j].sync || diff(t.samples[j].dts, at) > uint64(t.samples[j].dur)/2) {
			// Renditions are not aligned: no segment boundary can be shared.
			return nil, fmt.Errorf("%w: video renditions are not aligned: %s track %d has no sync sample at %.3f s, where %s track %d has one",
				ErrMedia, t.File, t.ID, float64(at)/float64(t.Timescale), ref.File, ref.ID)
		}
		if len(firsts) == 0 || firsts[len(firsts)-1] != j {
			firsts = append(firsts, j)
		}
	}
	if len(firsts) == 0 || firsts[0] != 0 {
		firsts = append([]int{0}, firsts...)
	}
	segs := make([]segment, len(firsts))
	for k, f := range firsts {
		end := len(t.samples)
		if k+1 < len(firsts) {
			end = firsts[k+1]
		}
		last := t.samples[end-1]
		segs[k] = segment{first: f, end: end, dts: t.samples[f].dts - rebase,
			dur: last.dts + uint64(last.dur) - t.samples[f].dts}
	}
	return segs, nil
}

func diff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
