package cmaf

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/Eyevinn/mp4ff/mp4"
)

// The names of a presentation's outputs, relative to its Dir. Both
// manifests name the same media files, so a package is one set of files
// that HLS and DASH players share.
const (
	MasterPlaylist = "master.m3u8"
	MPD            = "manifest.mpd"
)

// InitName, SegmentName and PlaylistName name track i's outputs; text
// tracks have a playlist and TextName, their WebVTT file.
func (p *Presentation) InitName(i int) string     { return p.Names[i] + "-init.mp4" }
func (p *Presentation) PlaylistName(i int) string { return p.Names[i] + ".m3u8" }
func (p *Presentation) TextName(i int) string     { return p.Names[i] + ".vtt" }

// SegmentName names track i's media segment n (from 1).
func (p *Presentation) SegmentName(i, n int) string { return fmt.Sprintf("%s-%05d.m4s", p.Names[i], n) }

// segmentTemplate is SegmentName as a DASH template.
func (p *Presentation) segmentTemplate(i int) string { return p.Names[i] + "-$Number%05d$.m4s" }

// bandwidth returns track i's peak and average bit rates over its
// segments, in bits per second (computed with the presentation).
func (p *Presentation) bandwidth(i int) (peak, avg uint64) { return p.rates[i][0], p.rates[i][1] }

// measure computes every track's rates from its segments' encoded sizes.
func (p *Presentation) measure() error {
	p.rates = make([][2]uint64, len(p.Tracks))
	for i, t := range p.Tracks {
		if t.Kind == Text {
			p.rates[i] = [2]uint64{1000, 1000}
			continue
		}
		var total int64
		var peak, avg uint64
		for n, s := range p.segs[i] {
			size, err := t.segmentSize(s, uint32(n+1))
			if err != nil {
				return err
			}
			total += size
			if s.dur > 0 {
				peak = max(peak, uint64(math.Ceil(float64(size)*8*float64(t.Timescale)/float64(s.dur))))
			}
		}
		if t.Duration > 0 {
			avg = uint64(math.Ceil(float64(total) * 8 * float64(t.Timescale) / float64(t.Duration)))
		}
		p.rates[i] = [2]uint64{max(peak, avg), avg}
	}
	return nil
}

// frameRate returns a video track's frames per second, as HLS and DASH
// write it.
func (t *Track) frameRate() float64 {
	if t.Duration == 0 {
		return 0
	}
	return float64(len(t.samples)) * float64(t.Timescale) / float64(t.Duration)
}

// channels is an audio track's channel count (0 if unknown).
func (t *Track) channels() int {
	if e, ok := t.entry.(*mp4.AudioSampleEntryBox); ok {
		return int(e.ChannelCount)
	}
	return 0
}

// targetDuration is EXT-X-TARGETDURATION: every segment's duration,
// rounded up, is at most it.
func (p *Presentation) targetDuration() int {
	target := 1
	for i, t := range p.Tracks {
		for _, s := range p.segs[i] {
			target = max(target, int(math.Round(float64(s.dur)/float64(t.Timescale))))
		}
	}
	return target
}

// MediaPlaylist returns track i's HLS media playlist.
func (p *Presentation) MediaPlaylist(i int) []byte {
	t := p.Tracks[i]
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n")
	if t.Kind == Text {
		d := int(math.Ceil(p.duration))
		fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n", max(d, 1))
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n#EXT-X-ENDLIST\n", p.duration, p.TextName(i))
		return []byte(b.String())
	}
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n", p.targetDuration())
	fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", p.InitName(i))
	for n, s := range p.segs[i] {
		fmt.Fprintf(&b, "#EXTINF:%.6f,\n%s\n", float64(s.dur)/float64(t.Timescale), p.SegmentName(i, n+1))
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return []byte(b.String())
}

// MasterPlaylist returns the HLS multivariant playlist: one variant per
// video rendition and audio codec, each audio track a rendition of its
// codec's group (LANGUAGE from the track), each text track a subtitles
// rendition.
func (p *Presentation) MasterPlaylist() []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	type group struct {
		id     string
		codecs string
		peak   uint64
		avg    uint64
	}
	var groups []*group
	byCodec := map[string]*group{}
	subs := ""
	used := map[string]bool{}
	// name is a rendition's NAME: its language, unique among the playlist's.
	name := func(i int) string {
		n := p.Tracks[i].Lang
		if k := string(p.Tracks[i].Kind) + " " + n; n == "" || used[k] {
			n = p.Names[i]
		}
		used[string(p.Tracks[i].Kind)+" "+n] = true
		return n
	}
	for i, t := range p.Tracks {
		switch t.Kind {
		case Audio:
			g := byCodec[t.Codecs]
			def := "NO"
			if g == nil {
				g = &group{id: "audio-" + safeName(strings.ReplaceAll(t.Codecs, ".", "-")), codecs: t.Codecs}
				byCodec[t.Codecs] = g
				groups = append(groups, g)
				def = "YES"
			}
			peak, avg := p.bandwidth(i)
			g.peak, g.avg = max(g.peak, peak), max(g.avg, avg)
			fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=%q,NAME=%q,%sDEFAULT=%s,AUTOSELECT=YES", g.id, name(i), langAttr(t.Lang), def)
			if c := t.channels(); c > 0 {
				fmt.Fprintf(&b, ",CHANNELS=\"%d\"", c)
			}
			fmt.Fprintf(&b, ",URI=%q\n", p.PlaylistName(i))
		case Text:
			subs = "subs"
			fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=%q,%sDEFAULT=NO,AUTOSELECT=YES,URI=%q\n", name(i), langAttr(t.Lang), p.PlaylistName(i))
		}
	}
	variants := 0
	for i, t := range p.Tracks {
		if t.Kind != Video {
			continue
		}
		peak, avg := p.bandwidth(i)
		attrs := fmt.Sprintf("RESOLUTION=%dx%d,FRAME-RATE=%.3f", t.Width, t.Height, t.frameRate())
		if subs != "" {
			attrs += `,SUBTITLES="subs"`
		}
		if len(groups) == 0 {
			fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=%q,%s\n%s\n", peak, avg, t.Codecs, attrs, p.PlaylistName(i))
		}
		for _, g := range groups {
			fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=%q,%s,AUDIO=%q\n%s\n",
				peak+g.peak, avg+g.avg, t.Codecs+","+g.codecs, attrs, g.id, p.PlaylistName(i))
		}
		variants++
	}
	if variants == 0 {
		// Audio only: each audio track is a variant of its own.
		for i, t := range p.Tracks {
			if t.Kind == Audio {
				peak, avg := p.bandwidth(i)
				fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=%q\n%s\n", peak, avg, t.Codecs, p.PlaylistName(i))
			}
		}
	}
	return []byte(b.String())
}

func langAttr(lang string) string {
	if lang == "" {
		return ""
	}
	return fmt.Sprintf("LANGUAGE=%q,", lang)
}

// The DASH MPD, as encoding/xml writes it: a static presentation with one
// Period, an AdaptationSet for the video renditions, one per audio track
// (its lang) and one per text track; media by SegmentTemplate and
// SegmentTimeline over the same init and media segments HLS names.
type mpd struct {
	XMLName  xml.Name `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles string   `xml:"profiles,attr"`
	Type     string   `xml:"type,attr"`
	Duration string   `xml:"mediaPresentationDuration,attr"`
	MinBuf   string   `xml:"minBufferTime,attr"`
	Period   period   `xml:"Period"`
}

type period struct {
	ID    string          `xml:"id,attr"`
	Start string          `xml:"start,attr"`
	Sets  []adaptationSet `xml:"AdaptationSet"`
}

type adaptationSet struct {
	ID               int              `xml:"id,attr"`
	ContentType      string           `xml:"contentType,attr"`
	MimeType         string           `xml:"mimeType,attr"`
	Lang             string           `xml:"lang,attr,omitempty"`
	SegmentAlignment string           `xml:"segmentAlignment,attr,omitempty"`
	StartWithSAP     string           `xml:"startWithSAP,attr,omitempty"`
	MaxWidth         int              `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int              `xml:"maxHeight,attr,omitempty"`
	Role             *descriptor      `xml:"Role"`
	Reps             []representation `xml:"Representation"`
}

type descriptor struct {
	Scheme string `xml:"schemeIdUri,attr"`
	Value  string `xml:"value,attr"`
}

type representation struct {
	ID         string           `xml:"id,attr"`
	Bandwidth  uint64           `xml:"bandwidth,attr"`
	Codecs     string           `xml:"codecs,attr,omitempty"`
	Width      int              `xml:"width,attr,omitempty"`
	Height     int              `xml:"height,attr,omitempty"`
	FrameRate  string           `xml:"frameRate,attr,omitempty"`
	SampleRate uint32           `xml:"audioSamplingRate,attr,omitempty"`
	Channels   *descriptor      `xml:"AudioChannelConfiguration"`
	BaseURL    string           `xml:"BaseURL,omitempty"`
	Template   *segmentTemplate `xml:"SegmentTemplate"`
}

type segmentTemplate struct {
	Timescale      uint32   `xml:"timescale,attr"`
	Initialization string   `xml:"initialization,attr"`
	Media          string   `xml:"media,attr"`
	StartNumber    int      `xml:"startNumber,attr"`
	Timeline       []sEntry `xml:"SegmentTimeline>S"`
}

type sEntry struct {
	T *uint64 `xml:"t,attr"`
	D uint64  `xml:"d,attr"`
	R int     `xml:"r,attr,omitempty"`
}

// MPD returns the DASH manifest.
func (p *Presentation) MPD() []byte {
	m := mpd{
		Profiles: "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019",
		Type:     "static",
		Duration: isoDuration(p.duration),
		MinBuf:   isoDuration(p.target.Seconds()),
		Period:   period{ID: "0", Start: "PT0S"},
	}
	var videoSet *adaptationSet
	for i, t := range p.Tracks {
		peak, _ := p.bandwidth(i)
		rep := representation{ID: p.Names[i], Bandwidth: peak, Codecs: t.Codecs}
		if t.Kind == Text {
			rep.Codecs, rep.BaseURL = "", p.TextName(i)
			m.Period.Sets = append(m.Period.Sets, adaptationSet{ID: len(m.Period.Sets) + 1, ContentType: "text",
				MimeType: "text/vtt", Lang: t.Lang, Role: &descriptor{"urn:mpeg:dash:role:2011", "subtitle"}, Reps: []representation{rep}})
			continue
		}
		rep.Template = p.template(i)
		switch t.Kind {
		case Video: // video tracks come first, so videoSet stays valid
			rep.Width, rep.Height = t.Width, t.Height
			rep.FrameRate = frameRateRatio(t)
			if videoSet == nil {
				m.Period.Sets = append(m.Period.Sets, adaptationSet{ID: len(m.Period.Sets) + 1, ContentType: "video",
					MimeType: "video/mp4", SegmentAlignment: "true", StartWithSAP: "1"})
				videoSet = &m.Period.Sets[len(m.Period.Sets)-1]
			}
			videoSet.MaxWidth, videoSet.MaxHeight = max(videoSet.MaxWidth, t.Width), max(videoSet.MaxHeight, t.Height)
			videoSet.Reps = append(videoSet.Reps, rep)
		case Audio:
			rep.SampleRate = t.Timescale
			if c := t.channels(); c > 0 {
				rep.Channels = &descriptor{"urn:mpeg:dash:23003:3:audio_channel_configuration:2011", strconv.Itoa(c)}
			}
			role := "alternate"
			if !p.hasAudioBefore(i) {
				role = "main"
			}
			m.Period.Sets = append(m.Period.Sets, adaptationSet{ID: len(m.Period.Sets) + 1, ContentType: "audio",
				MimeType: "audio/mp4", Lang: t.Lang, SegmentAlignment: "true", StartWithSAP: "1",
				Role: &descriptor{"urn:mpeg:dash:role:2011", role}, Reps: []representation{rep}})
		}
	}
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // the types above always marshal
	}
	return append([]byte(xml.Header), append(out, '\n')...)
}

func (p *Presentation) hasAudioBefore(i int) bool {
	for _, t := range p.Tracks[:i] {
		if t.Kind == Audio {
			return true
		}
	}
	return false
}

// template is track i's SegmentTemplate with a run-length SegmentTimeline.
func (p *Presentation) template(i int) *segmentTemplate {
	st := &segmentTemplate{Timescale: p.Tracks[i].Timescale, Initialization: p.InitName(i), Media: p.segmentTemplate(i), StartNumber: 1}
	var next uint64
	for n, s := range p.segs[i] {
		if k := len(st.Timeline) - 1; k >= 0 && s.dts == next && st.Timeline[k].D == s.dur {
			st.Timeline[k].R++
		} else {
			e := sEntry{D: s.dur}
			if n == 0 || s.dts != next {
				t := s.dts
				e.T = &t
			}
			st.Timeline = append(st.Timeline, e)
		}
		next = s.dts + s.dur
	}
	return st
}

// frameRateRatio writes a frame rate as DASH does: an integer, or a ratio
// such as 30000/1001.
func frameRateRatio(t *Track) string {
	fr := t.frameRate()
	if math.Abs(fr-math.Round(fr)) < 0.001 {
		return strconv.Itoa(int(math.Round(fr)))
	}
	if n := math.Round(fr * 1001); math.Abs(n/1001-fr) < 0.001 && int(n)%1000 == 0 {
		return fmt.Sprintf("%d/1001", int(n))
	}
	return strconv.FormatFloat(fr, 'f', 3, 64)
}

// isoDuration writes seconds as an xs:duration ("PT20.000S").
func isoDuration(sec float64) string { return fmt.Sprintf("PT%.3fS", sec) }
