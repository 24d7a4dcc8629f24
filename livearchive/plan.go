package livearchive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// Options tune a Stitcher. The zero value keeps the archive's own times.
type Options struct {
	// Origin is subtracted from every fragment's decode time (track
	// timescale units) before it becomes the tfdt; a fragment that starts
	// earlier is an error. Manifest.Origin gives the value that starts the
	// archive's earliest track at 0 and keeps the others in step with it;
	// 0 keeps the channel's clock (hours or days into a 10 MHz timeline),
	// which players accept but show as a late start.
	Origin uint64
	// Workers is how many fragblobs Layout reads at once (default
	// DefaultWorkers): over a blob container each is a round trip.
	Workers int
}

// DefaultWorkers is Options.Workers when it is 0.
const DefaultWorkers = 16

// Gaps is how the fragblobs a container holds differ from the timeline of
// the client manifest. The track stitches anyway: missing fragments leave a
// hole in the media (the tfdt of the next fragment says where it resumes),
// and extra fragments are stitched in time order where they do not overlap
// a fragment the timeline names.
type Gaps struct {
	// TimeScale is the track's timescale, the unit of every time below.
	TimeScale uint64 `json:"timeScale"`
	// Missing are the time ranges the timeline names but no fragblob
	// holds, adjacent missing fragments merged.
	Missing []Gap `json:"missing,omitempty"`
	// Extra are fragblobs the timeline does not name, stitched in time order.
	Extra []Extra `json:"extra,omitempty"`
	// Overlapping are fragblobs the timeline does not name that start inside
	// a fragment it does name: left out, as they would put two samples at
	// one time (a redundant encoder's fragments, or a stale copy).
	Overlapping []Extra `json:"overlapping,omitempty"`
	// Foreign are names that are neither "header" nor a decimal time (or a
	// second spelling of one, "020000000"): left out.
	Foreign []string `json:"foreign,omitempty"`
}

// Empty reports that the container holds exactly the timeline's fragments.
func (g Gaps) Empty() bool {
	return len(g.Missing) == 0 && len(g.Extra) == 0 && len(g.Overlapping) == 0 && len(g.Foreign) == 0
}

// Note says in one line how the fragblobs differ from the timeline: the
// missing time ranges, and the fragblobs stitched in or left out that the
// timeline does not name, in seconds of the stitched file (the archive's
// times less origin, Options.Origin).
func (g Gaps) Note(origin uint64) string {
	at := func(t uint64) float64 {
		if t < origin {
			return -float64(origin-t) / float64(g.TimeScale)
		}
		return float64(t-origin) / float64(g.TimeScale)
	}
	var parts []string
	if n := len(g.Missing); n > 0 {
		frags := 0
		var ranges []string
		for i, m := range g.Missing {
			frags += m.Fragments
			if i < 5 {
				ranges = append(ranges, fmt.Sprintf("%.3f-%.3f s", at(m.Start), at(m.End)))
			}
		}
		if n > 5 {
			ranges = append(ranges, fmt.Sprintf("and %d more", n-5))
		}
		parts = append(parts, fmt.Sprintf("missing %d fragments the timeline names: %s", frags, strings.Join(ranges, ", ")))
	}
	list := func(what string, es []Extra) {
		if len(es) == 0 {
			return
		}
		var s []string
		for i, e := range es {
			if i == 5 {
				s = append(s, fmt.Sprintf("and %d more", len(es)-5))
				break
			}
			s = append(s, fmt.Sprintf("%s at %.3f s", e.Name, at(e.Start)))
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", len(es), what, strings.Join(s, ", ")))
	}
	list("fragblobs the timeline does not name, stitched in", g.Extra)
	list("fragblobs overlapping the timeline's, left out", g.Overlapping)
	if len(g.Foreign) > 0 {
		parts = append(parts, fmt.Sprintf("%d fragblob names that are not times, left out", len(g.Foreign)))
	}
	return "gaps (times in the stitched file): " + strings.Join(parts, "; ")
}

// Gap is a time range [Start, End) without fragments, in timescale units and
// in seconds.
type Gap struct {
	Start        uint64  `json:"start"`
	End          uint64  `json:"end"`
	Fragments    int     `json:"fragments"`
	StartSeconds float64 `json:"startSeconds"`
	EndSeconds   float64 `json:"endSeconds"`
}

// Extra is a fragblob the timeline does not name.
type Extra struct {
	Name         string  `json:"name"`
	Start        uint64  `json:"start"`
	StartSeconds float64 `json:"startSeconds"`
}

// Stitcher turns one track's fragblobs into one fragmented MP4: the header
// as init segment, then every fragment in time order, each traf given a
// tfdt. It holds the order and the gaps, not the media: Stream writes the
// file, Layout computes where every byte of it comes from.
type Stitcher struct {
	frags     Fragments
	timescale uint64
	origin    uint64
	workers   int
	order     []fragRef
	gaps      Gaps
}

type fragRef struct {
	name  string
	start uint64 // the time the name says
}

// New plans the stitching of track tr from frags: it lists the fragblobs,
// orders them by the stream's timeline and notes the gaps. It reads no
// fragblob. A track without a header, or without any fragment, is an error.
func New(ctx context.Context, frags Fragments, tr Track, opts *Options) (*Stitcher, error) {
	if tr.Stream == nil || tr.Stream.TimeScale == 0 {
		return nil, errors.New("livearchive: track without a stream and its timescale")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	names, err := frags.Names(ctx)
	if err != nil {
		return nil, err
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	s := &Stitcher{frags: frags, timescale: tr.Stream.TimeScale, origin: o.Origin, workers: o.Workers}
	s.gaps.TimeScale = s.timescale

	byTime := make(map[uint64]string, len(names))
	header := false
	names = slices.Clone(names) // sorted here; the caller's listing stays as it was
	slices.Sort(names)
	// The canonical spelling of a time wins over one with leading zeros,
	// whatever the order of the listing.
	for _, canonical := range []bool{true, false} {
		for _, n := range names {
			if n == HeaderName {
				header = true
				continue
			}
			t, err := parse.Decimal(n, math.MaxUint64)
			if err != nil || (strconv.FormatUint(t, 10) == n) != canonical {
				continue
			}
			if _, dup := byTime[t]; dup {
				s.gaps.Foreign = append(s.gaps.Foreign, n)
				continue
			}
			byTime[t] = n
		}
	}
	for _, n := range names {
		if _, err := parse.Decimal(n, math.MaxUint64); err != nil && n != HeaderName {
			s.gaps.Foreign = append(s.gaps.Foreign, n)
		}
	}
	slices.Sort(s.gaps.Foreign)
	if !header {
		return nil, fmt.Errorf("%w: track %s has no %s fragblob", ErrFragment, quote.Input(tr.Prefix), HeaderName)
	}

	timeline := tr.Stream.Timeline
	present := make([]bool, len(timeline))
	for i, c := range timeline {
		if n, ok := byTime[c.Start]; ok {
			present[i] = true
			s.order = append(s.order, fragRef{n, c.Start})
			delete(byTime, c.Start)
			continue
		}
		if g := len(s.gaps.Missing) - 1; g >= 0 && i > 0 && !present[i-1] && s.gaps.Missing[g].End == c.Start {
			s.gaps.Missing[g].End = c.End()
			s.gaps.Missing[g].Fragments++
		} else {
			s.gaps.Missing = append(s.gaps.Missing, Gap{Start: c.Start, End: c.End(), Fragments: 1})
		}
	}
	for i := range s.gaps.Missing {
		g := &s.gaps.Missing[i]
		g.StartSeconds, g.EndSeconds = s.seconds(g.Start), s.seconds(g.End)
	}
	for t, n := range byTime {
		// The timeline chunk that starts at or before t.
		i := sort.Search(len(timeline), func(i int) bool { return timeline[i].Start > t }) - 1
		e := Extra{Name: n, Start: t, StartSeconds: s.seconds(t)}
		if i >= 0 && present[i] && t < timeline[i].End() {
			s.gaps.Overlapping = append(s.gaps.Overlapping, e)
			continue
		}
		s.gaps.Extra = append(s.gaps.Extra, e)
		s.order = append(s.order, fragRef{n, t})
	}
	byStart := func(a, b Extra) int { return cmp.Compare(a.Start, b.Start) }
	slices.SortFunc(s.gaps.Extra, byStart)
	slices.SortFunc(s.gaps.Overlapping, byStart)
	slices.SortFunc(s.order, func(a, b fragRef) int { return cmp.Compare(a.start, b.start) })
	if len(s.order) == 0 {
		return nil, fmt.Errorf("%w: track %s has no fragment the stitcher can use", ErrFragment, quote.Input(tr.Prefix))
	}
	return s, nil
}

// Gaps returns how the container differs from the timeline.
func (s *Stitcher) Gaps() Gaps { return s.gaps }

// Names returns the fragblobs stitched, in order, header first.
func (s *Stitcher) Names() []string {
	out := make([]string, 0, len(s.order)+1)
	out = append(out, HeaderName)
	for _, f := range s.order {
		out = append(out, f.name)
	}
	return out
}

func (s *Stitcher) seconds(t uint64) float64 { return float64(t) / float64(s.timescale) }
