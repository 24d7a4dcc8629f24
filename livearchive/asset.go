package livearchive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
)

// StitchedExt is the extension of a stitched track's file: the track
// "video=1500000" becomes "video=1500000.mp4". The prefix is kept as it
// is: track prefixes are names of the asset already.
const StitchedExt = ".mp4"

// Asset is what Asset.Tracks reads of an asset (the files of a live
// archive, encrypted or not): which of its files are whose fragblobs, and
// how to read them.
type Asset struct {
	// Paths are every file the asset holds, readable or not: a track is
	// never stitched into a name one of them holds.
	Paths []string
	// Files are the files Open reads: each track's fragblobs (File.Track
	// set), and the client (.ismc) and server (.ism) manifests that time
	// and pair them; other files are ignored.
	Files []File
	// Open returns the plaintext of the file at path, one of Files, and
	// what to close when done with it: for a storage-encrypted asset, a
	// decrypting reader (blobcrypt.Open) with the IV the key export gives
	// the file, the track's for every fragblob of it.
	Open func(ctx context.Context, path string) (Blob, io.Closer, error)
}

// File is one file of an Asset.
type File struct {
	// Path is relative to the asset's root, '/'-separated.
	Path string
	Size int64
	// Tag identifies this version of the file (a blob's ETag), or "".
	Tag string
	// Track is the prefix of the track whose fragblob the file is
	// ("video=1500000" for "video=1500000/header"); "" for another file.
	Track string
}

// StitchedTrack is one live-archive track of an asset as one fragmented
// MP4: its name, and the stitcher over its fragblobs, or why there is none.
type StitchedTrack struct {
	// Name is Prefix + StitchedExt.
	Name string
	// Prefix is the track prefix.
	Prefix string
	// Type is the stream's kind, "video", "audio" or "text"; "" when the
	// client manifest does not describe the track.
	Type string
	// Origin is what the stitched file's times count from, in the track's
	// timescale: the archive's earliest fragment (Manifest.Origin), so that
	// every track starts near 0 and stays in step with the others.
	Origin uint64
	// Fragblobs are the track's files, sorted by path.
	Fragblobs []File
	// Stitcher orders the fragblobs by the client manifest's timeline; nil
	// when Err is set.
	Stitcher *Stitcher
	// Err says why the track cannot be stitched: no client manifest
	// describes it, the manifest cannot be read, it has no header, or the
	// asset holds a file named Name already.
	Err error
}

// MimeType is the stitched file's media type.
func (t *StitchedTrack) MimeType() string {
	switch t.Type {
	case "audio":
		return "audio/mp4"
	case "text":
		return "application/mp4"
	}
	return "video/mp4"
}

// Tag names this version of the stitched file: its name and every
// fragblob's path, size and tag, so that a block blob staged from other
// fragblobs is never committed.
func (t *StitchedTrack) Tag() string {
	h := sha256.New()
	fmt.Fprintf(h, "amscrypt stitch\x00%s\x00", t.Name)
	for _, f := range t.Fragblobs {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f.Path, f.Size, f.Tag)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Tracks finds the asset's live-archive tracks: every track of Files,
// paired with its StreamIndex in a client manifest (.ismc; through the
// .ism's src attributes when there is one, else by AMS's
// "<Name>=<Bitrate>" prefixes) and its Stitcher made. It reads the
// manifests and no fragblob; a track that cannot be stitched has Err set.
// Tracks are sorted by Name.
func (a *Asset) Tracks(ctx context.Context) []*StitchedTrack {
	byPrefix := map[string]*StitchedTrack{}
	var tracks []*StitchedTrack
	var clients, servers []string
	for _, f := range a.Files {
		if f.Track != "" {
			t := byPrefix[f.Track]
			if t == nil {
				t = &StitchedTrack{Name: f.Track + StitchedExt, Prefix: f.Track}
				byPrefix[f.Track] = t
				tracks = append(tracks, t)
			}
			t.Fragblobs = append(t.Fragblobs, f)
			continue
		}
		switch strings.ToLower(path.Ext(f.Path)) {
		case ".ismc":
			clients = append(clients, f.Path)
		case ".ism":
			servers = append(servers, f.Path)
		}
	}
	if len(tracks) == 0 {
		return nil
	}
	sort.Slice(tracks, func(i, j int) bool { return tracks[i].Name < tracks[j].Name })
	slices.Sort(clients)
	slices.Sort(servers)
	pairings, problems := a.pairings(ctx, clients, servers)
	taken := make(map[string]bool, len(a.Paths))
	for _, p := range a.Paths {
		taken[p] = true
	}
	for _, t := range tracks {
		slices.SortFunc(t.Fragblobs, func(x, y File) int { return strings.Compare(x.Path, y.Path) })
		if taken[t.Name] {
			t.Err = fmt.Errorf("the asset holds a file named %s already; the stitched track is not put in its place (restore without --stitch to get the fragblobs)", t.Name)
			continue
		}
		tr, m := findTrack(pairings, t.Prefix)
		if tr == nil {
			why := "the asset has no client manifest (.ismc) whose timeline names it"
			if len(clients) == 0 {
				why = "the asset has no client manifest (.ismc), whose timeline stitching needs"
			}
			if len(problems) > 0 {
				why += "; " + strings.Join(problems, "; ")
			}
			t.Err = fmt.Errorf("track %s cannot be stitched: %s", t.Prefix, why)
			continue
		}
		t.Type = tr.Stream.Type
		tr.Prefix = t.Prefix
		fr := &assetFragments{a: a, prefix: t.Prefix, files: map[string]File{}}
		for _, f := range t.Fragblobs {
			fr.files[strings.TrimPrefix(f.Path, t.Prefix+"/")] = f
		}
		t.Origin = m.Origin(tr.Stream.TimeScale)
		t.Stitcher, t.Err = New(ctx, fr, *tr, &Options{Origin: t.Origin})
	}
	return tracks
}

// pairing is a client manifest's tracks, their prefixes relative to dir
// (where the .ism, or else the .ismc, is).
type pairing struct {
	m      *Manifest
	tracks []Track
	dir    string
}

// pairings reads the manifests: first every .ism that names a client
// manifest, pairing its tracks through their src; then every client
// manifest alone, by AMS's prefixes. Problems are the manifests that cannot
// be read or paired, one line each.
func (a *Asset) pairings(ctx context.Context, clients, servers []string) ([]pairing, []string) {
	cms := map[string]*Manifest{}
	var problems []string
	for _, p := range clients {
		m, err := readManifest(ctx, a, p, ParseManifest)
		if err != nil {
			problems = append(problems, fmt.Sprintf("client manifest %s: %v", p, err))
			continue
		}
		cms[p] = m
	}
	var out []pairing
	for _, p := range servers {
		sm, err := readManifest(ctx, a, p, ParseServerManifest)
		if err == nil {
			if sm.ClientManifest == "" {
				continue
			}
			m := cms[path.Join(path.Dir(p), sm.ClientManifest)]
			if m == nil {
				continue // a VOD .ism, or its .ismc is reported above
			}
			var trs []Track
			if trs, err = m.Tracks(sm); err == nil {
				out = append(out, pairing{m, trs, path.Dir(p)})
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("server manifest %s: %v", p, err))
	}
	for _, p := range slices.Sorted(maps.Keys(cms)) {
		trs, _ := cms[p].Tracks(nil) // never fails without an .ism
		out = append(out, pairing{cms[p], trs, path.Dir(p)})
	}
	return out, problems
}

// findTrack returns the first pairing's track whose prefix is prefix, and
// its manifest; nil if none names it.
func findTrack(pairings []pairing, prefix string) (*Track, *Manifest) {
	for _, p := range pairings {
		for _, tr := range p.tracks {
			if path.Join(p.dir, tr.Prefix) == prefix {
				return &tr, p.m
			}
		}
	}
	return nil, nil
}

// readManifest opens the manifest at name and parses its plaintext.
func readManifest[M any](ctx context.Context, a *Asset, name string, parse func(io.Reader) (M, error)) (M, error) {
	b, c, err := a.Open(ctx, name)
	if err != nil {
		var zero M
		return zero, err
	}
	defer c.Close()
	return parse(io.NewSectionReader(b, 0, b.Size()))
}

// assetFragments are one track's fragblobs in an Asset, by name under the
// track prefix.
type assetFragments struct {
	a      *Asset
	prefix string
	files  map[string]File
}

func (f *assetFragments) Names(context.Context) ([]string, error) {
	return slices.Collect(maps.Keys(f.files)), nil
}

func (f *assetFragments) Open(ctx context.Context, name string) (Blob, error) {
	file, ok := f.files[name]
	if !ok {
		return nil, fmt.Errorf("livearchive: fragblob %s/%s: %w", f.prefix, name, fs.ErrNotExist)
	}
	b, c, err := f.a.Open(ctx, file.Path)
	if err != nil {
		return nil, fmt.Errorf("livearchive: fragblob %s: %w", file.Path, err)
	}
	return fileBlob{b, c, b.Size()}, nil
}
