package cmaf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
)

// Files is an asset's plaintext, file by file: what serve.Server gives,
// decrypting by range as it is read (and with each live-archive track as
// a stitched "<prefix>.mp4").
type Files interface {
	// Names returns the paths of the asset's files, those that cannot be
	// read included (Open says why), so that none is left out unnoticed.
	Names() []string
	// Open returns the named file's plaintext. For a file whose plaintext
	// cannot be had (serve.Server's that failed its check), the error
	// matches ErrMedia: such a subtitle is left out with a note, such a
	// video or audio file, or .ism, fails its presentation.
	Open(ctx context.Context, name string) (File, error)
}

// File is one plaintext file of Files.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// maxTextSize bounds a WebVTT file, which a package copies whole.
const maxTextSize = 64 << 20

// isMedia reports whether name is a file a presentation can take tracks
// from when the asset has no .ism.
func isMedia(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4", ".m4v", ".m4a", ".ismv", ".isma", ".cmfv", ".cmfa":
		return true
	}
	return false
}

func isText(name string) bool { return strings.EqualFold(path.Ext(name), ".vtt") }

// Presentations returns the asset's presentations: one per server manifest
// (.ism) it holds, its tracks those the manifest names (its video, audio
// and textstream elements, with their trackID, systemBitrate and
// systemLanguage; a live archive's tracks stitched); or, with no .ism, one
// of every MP4 and WebVTT file. With more than one .ism each presentation
// goes in a directory named after it ("name/" for name.ism).
func Presentations(ctx context.Context, files Files, opts *Options) ([]*Presentation, error) {
	names := slices.Sorted(slices.Values(files.Names()))
	have := map[string]bool{}
	var isms []string
	for _, n := range names {
		have[n] = true
		if strings.EqualFold(path.Ext(n), ".ism") {
			isms = append(isms, n)
		}
	}
	r := reader{ctx: ctx, files: files, tracks: map[string][]*Track{}}
	if len(isms) == 0 {
		var tracks []*Track
		for _, n := range names {
			switch {
			case isMedia(n):
				ts, err := r.read(n)
				if err != nil {
					return nil, err
				}
				tracks = append(tracks, ts...)
			case isText(n):
				t, err := r.text(n, "")
				if errors.Is(err, ErrMedia) {
					r.notes = append(r.notes, fmt.Sprintf("text track %s left out: %s", n, mediaReason(err)))
					continue
				}
				if err != nil {
					return nil, err
				}
				tracks = append(tracks, t)
			}
		}
		if len(tracks) == 0 {
			return nil, fmt.Errorf("%w: the asset has no .ism and no MP4 file", ErrMedia)
		}
		p, err := NewPresentation("", tracks, opts)
		if err != nil {
			return nil, err
		}
		p.files, p.Notes = files, r.notes
		return []*Presentation{p}, nil
	}
	var out []*Presentation
	dirs := map[string]string{} // lower-cased dir: the .ism packaged there
	for _, ism := range isms {
		dir := ""
		if len(isms) > 1 {
			dir = strings.TrimSuffix(ism, path.Ext(ism)) + "/"
			// Lower-cased too: a destination may not tell a/ from A/.
			if other, ok := dirs[strings.ToLower(dir)]; ok {
				return nil, fmt.Errorf("%w: %s and %s would both be packaged into %s; rename one of them",
					ErrMedia, quote.Input(other), quote.Input(ism), quote.Input(dir))
			}
			dirs[strings.ToLower(dir)] = ism
		}
		p, err := r.presentation(ism, dir, have, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ISMPresentation returns the presentation of the server manifest ism, one
// of files' names (its Dir is "").
func ISMPresentation(ctx context.Context, files Files, ism string, opts *Options) (*Presentation, error) {
	have := map[string]bool{}
	for _, n := range files.Names() {
		have[n] = true
	}
	r := reader{ctx: ctx, files: files, tracks: map[string][]*Track{}}
	return r.presentation(ism, "", have, opts)
}

func (r *reader) presentation(ism, dir string, have map[string]bool, opts *Options) (*Presentation, error) {
	tracks, err := r.ism(ism, have)
	if err != nil {
		return nil, err
	}
	p, err := NewPresentation(dir, tracks, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ism, err)
	}
	p.files, p.ISM, p.Notes = r.files, ism, r.notes
	r.notes = nil
	return p, nil
}

// reader reads each file's tracks once.
type reader struct {
	ctx    context.Context
	files  Files
	tracks map[string][]*Track
	notes  []string // what was left out, for the presentation's Notes
}

func (r *reader) open(name string) (File, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	f, err := r.files.Open(r.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", quote.Input(name), err)
	}
	return f, nil
}

func (r *reader) read(name string) ([]*Track, error) {
	if ts, ok := r.tracks[name]; ok {
		return ts, nil
	}
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := ReadTracks(f, f.Size(), name)
	if err != nil {
		return nil, err
	}
	r.tracks[name] = ts
	return ts, nil
}

// text describes a WebVTT file as a track, after checking its signature.
func (r *reader) text(name, lang string) (*Track, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Size() > maxTextSize {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrMedia, quote.Input(name), maxTextSize>>20)
	}
	head := make([]byte, min(f.Size(), 9))
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", quote.Input(name), err)
	}
	if !bytes.HasPrefix(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), []byte("WEBVTT")) {
		return nil, fmt.Errorf("%w: %s does not start with WEBVTT", ErrMedia, quote.Input(name))
	}
	return &Track{File: name, Kind: Text, Lang: lang, Size: f.Size()}, nil
}

// ism returns the tracks a server manifest names.
func (r *reader) ism(name string, have map[string]bool) ([]*Track, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	sm, err := livearchive.ParseServerManifest(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", quote.Input(name), err)
	}
	var tracks []*Track
	seen := map[*Track]bool{}
	for _, st := range sm.Tracks {
		src := path.Join(path.Dir(name), st.Src)
		if !have[src] && have[src+livearchive.StitchedExt] {
			src += livearchive.StitchedExt // a live archive's track, stitched
		}
		if !have[src] && st.Type == "text" {
			r.notes = append(r.notes, fmt.Sprintf("%s: text track %s left out: the asset does not hold it", name, st.Src))
			continue
		}
		if !have[src] {
			return nil, fmt.Errorf("%w: %s names %s, which the asset does not hold",
				ErrMedia, quote.Input(name), quote.Input(st.Src))
		}
		if st.Type == "text" {
			if !isText(src) {
				r.notes = append(r.notes, fmt.Sprintf("%s: text track %s left out: only WebVTT files are packaged", name, st.Src))
				continue
			}
			t, err := r.text(src, language(st.SystemLanguage))
			if errors.Is(err, ErrMedia) {
				r.notes = append(r.notes, fmt.Sprintf("%s: text track %s left out: %s", name, st.Src, mediaReason(err)))
				continue
			}
			if err != nil {
				return nil, err
			}
			tracks = append(tracks, t)
			continue
		}
		ts, err := r.read(src)
		if err != nil {
			return nil, err
		}
		found, twice := false, false
		for _, t := range ts {
			if string(t.Kind) != st.Type || (st.TrackID != 0 && uint64(t.ID) != st.TrackID) {
				continue
			}
			if seen[t] {
				twice = true
				continue
			}
			seen[t], found = true, true
			c := *t // the file's tracks are shared by every .ism that names them
			if st.SystemBitrate != 0 {
				c.Bitrate = st.SystemBitrate
			}
			if l := language(st.SystemLanguage); l != "" {
				c.Lang = l
			}
			tracks = append(tracks, &c)
			if st.TrackID != 0 {
				break
			}
		}
		if !found && twice {
			return nil, fmt.Errorf("%w: %s names the %s track%s of %s twice", ErrMedia, quote.Input(name), st.Type, trackIDNote(st.TrackID), quote.Input(st.Src))
		}
		if !found {
			return nil, fmt.Errorf("%w: %s: %s has no %s track%s", ErrMedia, quote.Input(name), quote.Input(st.Src), st.Type, trackIDNote(st.TrackID))
		}
	}
	return tracks, nil
}

// mediaReason is an ErrMedia error's text without its "cmaf: unusable
// media" prefix, for a note.
func mediaReason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrMedia.Error()+": ")
}

func trackIDNote(id uint64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprintf(" with trackID %d", id)
}

// errNotFound is returned by Size and Write for a name that is not one of
// the presentation's outputs.
var errNotFound = errors.New("cmaf: no such output")

// output is what one output name stands for.
type output struct {
	kind  string // "master", "mpd", "playlist", "init", "segment", "text"
	track int
	seg   int // from 0
}

// Outputs returns the names of every file of the presentation, relative
// to its Dir: each track's init segment, media segments (or WebVTT file)
// and media playlist first, the two manifests last, so that a package
// whose manifests are there is complete.
func (p *Presentation) Outputs() []string {
	var out []string
	for i, t := range p.Tracks {
		if t.Kind == Text {
			out = append(out, p.TextName(i))
		} else {
			out = append(out, p.InitName(i))
			for n := range p.segs[i] {
				out = append(out, p.SegmentName(i, n+1))
			}
		}
		out = append(out, p.PlaylistName(i))
	}
	return append(out, MasterPlaylist, MPD)
}

// lookup parses an output name.
func (p *Presentation) lookup(name string) (output, bool) {
	switch name {
	case MasterPlaylist:
		return output{kind: "master"}, true
	case MPD:
		return output{kind: "mpd"}, true
	}
	for i, t := range p.Tracks {
		rest, ok := strings.CutPrefix(name, p.Names[i])
		if !ok {
			continue
		}
		switch {
		case rest == ".m3u8":
			return output{kind: "playlist", track: i}, true
		case t.Kind == Text && rest == ".vtt":
			return output{kind: "text", track: i}, true
		case t.Kind != Text && rest == "-init.mp4":
			return output{kind: "init", track: i}, true
		case t.Kind != Text && len(rest) >= len("-00001.m4s") && len(rest) <= len("-0000000001.m4s") &&
			rest[0] == '-' && strings.HasSuffix(rest, ".m4s"):
			// Five digits or more: segment 100000 is "-100000.m4s". Only
			// the name SegmentName gives (no sign, no extra zeros) answers.
			n, err := strconv.Atoi(rest[1 : len(rest)-len(".m4s")])
			if err == nil && n >= 1 && n <= len(p.segs[i]) && p.SegmentName(i, n) == name {
				return output{kind: "segment", track: i, seg: n - 1}, true
			}
		}
	}
	return output{}, false
}

// ContentType returns the MIME type of the output name.
func ContentType(name string) string { return media.ContentType(name, "", false) }

// Size returns the size of the output name and the bytes it starts with
// (for a media segment: its styp and moof, which the sample table alone
// determines), without reading any media data.
func (p *Presentation) Size(name string) (size int64, head []byte, err error) {
	o, ok := p.lookup(name)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %s", errNotFound, quote.Input(name))
	}
	switch o.kind {
	case "segment":
		head, mdatHeader, size, err := p.Tracks[o.track].segmentHead(p.segs[o.track][o.seg], uint32(o.seg+1))
		if err != nil {
			return 0, nil, err
		}
		// The mdat's header is left out: the head is the styp and moof.
		return size, head[:len(head)-mdatHeader], nil
	case "text":
		return p.Tracks[o.track].Size, nil, nil
	}
	var b bytes.Buffer
	if err := p.Write(context.Background(), &b, name); err != nil {
		return 0, nil, err
	}
	return int64(b.Len()), b.Bytes(), nil
}

// Write writes the output name to w. A media segment is read from its
// track's file in ranged reads of at most 4 MiB (a new one also where other
// tracks' data lies between its samples) and written out a read at a time,
// a WebVTT file is copied, the rest is computed.
func (p *Presentation) Write(ctx context.Context, w io.Writer, name string) (err error) {
	defer func() {
		// mp4ff encodes boxes copied from outside input (sample entries,
		// edit lists): a panic there is an error in the file, and must not
		// end a server that makes outputs on goroutines of its own.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: making %s: %v", ErrMedia, quote.Input(name), r)
		}
	}()
	o, ok := p.lookup(name)
	if !ok {
		return fmt.Errorf("%w: %s", errNotFound, quote.Input(name))
	}
	var data []byte
	switch o.kind {
	case "master":
		data = p.MasterPlaylist()
	case "mpd":
		data = p.MPD()
	case "playlist":
		data = p.MediaPlaylist(o.track)
	case "init":
		var err error
		if data, err = p.Tracks[o.track].initSegment(); err != nil {
			return err
		}
	case "segment", "text":
		t := p.Tracks[o.track]
		f, err := p.files.Open(ctx, t.File)
		if err != nil {
			return fmt.Errorf("opening %s: %w", quote.Input(t.File), err)
		}
		defer f.Close()
		if o.kind == "text" {
			if f.Size() != t.Size {
				return fmt.Errorf("%w: %s changed size since it was read", ErrMedia, quote.Input(t.File))
			}
			_, err = io.Copy(w, io.NewSectionReader(f, 0, t.Size))
			return err
		}
		return t.writeSegment(ctx, w, f, p.segs[o.track][o.seg], uint32(o.seg+1))
	}
	_, err = w.Write(data)
	return err
}
