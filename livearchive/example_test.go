package livearchive_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/amscrypt/amscrypt/livearchive"
)

// Stitch every track of a live archive whose plaintext fragblobs sit in a
// directory, each track on the archive's common timeline.
func Example() {
	ctx := context.Background()
	dir := "../testdata/livearchive/archive"
	ismc, err := os.Open(filepath.Join(dir, "live.ismc"))
	if err != nil {
		panic(err)
	}
	defer ismc.Close()
	m, err := livearchive.ParseManifest(ismc)
	if err != nil {
		panic(err)
	}
	ism, err := os.Open(filepath.Join(dir, "live.ism"))
	if err != nil {
		panic(err)
	}
	defer ism.Close()
	sm, err := livearchive.ParseServerManifest(ism)
	if err != nil {
		panic(err)
	}
	tracks, err := m.Tracks(sm)
	if err != nil {
		panic(err)
	}
	for _, tr := range tracks {
		frags := livearchive.FS(os.DirFS(filepath.Join(dir, tr.Prefix)))
		s, err := livearchive.New(ctx, frags, tr, &livearchive.Options{Origin: m.Origin(tr.Stream.TimeScale)})
		if err != nil {
			panic(err)
		}
		n, err := s.Stream(ctx, io.Discard) // an *os.File, a blob upload, …
		if err != nil {
			panic(err)
		}
		g := s.Gaps()
		fmt.Printf("%s: %s, %d fragments, %d bytes, gaps: %v\n", tr.Prefix, tr.Stream.Type, len(s.Names())-1, n, !g.Empty())
	}
	// Output:
	// video=48000: video, 6 fragments, 11804 bytes, gaps: false
	// audio_eng=32000: audio, 6 fragments, 48036 bytes, gaps: false
	// audio_fra=32000: audio, 6 fragments, 48034 bytes, gaps: false
	// text=1000: text, 4 fragments, 1156 bytes, gaps: false
}

// Serve a stitched track by byte range without writing it anywhere: the
// Layout reads each fragment's moof once, then every request reads only
// the fragblobs its range overlaps.
func ExampleLayout_Open() {
	ctx := context.Background()
	dir := "../testdata/livearchive/archive"
	f, err := os.Open(filepath.Join(dir, "live.ismc"))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	m, err := livearchive.ParseManifest(f)
	if err != nil {
		panic(err)
	}
	tracks, err := m.Tracks(nil) // no .ism: AMS's <Name>=<Bitrate> prefixes
	if err != nil {
		panic(err)
	}
	video := tracks[0]
	s, err := livearchive.New(ctx, livearchive.FS(os.DirFS(filepath.Join(dir, video.Prefix))), video,
		&livearchive.Options{Origin: m.Origin(video.Stream.TimeScale)})
	if err != nil {
		panic(err)
	}
	layout, err := s.Layout(ctx)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, video.Prefix+".mp4", time.Time{}, layout.Open(r.Context()))
	}))
	defer srv.Close()

	seg := layout.Segments()[2] // the fragment from 4 s
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", seg.Offset, seg.Offset+seg.Size-1))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(video.Prefix, layout.Size(), "bytes, init segment", layout.InitSize())
	fmt.Println(res.Status, res.Header.Get("Content-Range"), string(body[4:8]), seg.Time)
	// Output:
	// video=48000 11804 bytes, init segment 740
	// 206 Partial Content bytes 4894-6590/11804 moof 40000000
}

// Find every track of an asset among its files and stitch it: here the
// plaintext files of a directory; for a storage-encrypted asset, Open
// returns a decrypting reader (blobcrypt.Open) with each file's IV.
func ExampleAsset_Tracks() {
	ctx := context.Background()
	dir := "../testdata/livearchive/archive"
	a := &livearchive.Asset{Open: func(_ context.Context, p string) (livearchive.Blob, io.Closer, error) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return io.NewSectionReader(f, 0, st.Size()), f, nil
	}}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		a.Paths = append(a.Paths, p)
		f := livearchive.File{Path: p}
		if dir, _ := path.Split(p); dir != "" {
			f.Track = path.Clean(dir) // "video=48000/header": a fragblob of video=48000
		}
		a.Files = append(a.Files, f)
		return nil
	})
	if err != nil {
		panic(err)
	}
	for _, t := range a.Tracks(ctx) {
		if t.Err != nil {
			fmt.Println(t.Name, t.Err)
			continue
		}
		n, err := t.Stitcher.Stream(ctx, io.Discard)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s (%s): %d fragblobs, %d bytes\n", t.Name, t.MimeType(), len(t.Fragblobs), n)
	}
	// Output:
	// audio_eng=32000.mp4 (audio/mp4): 7 fragblobs, 48036 bytes
	// audio_fra=32000.mp4 (audio/mp4): 7 fragblobs, 48034 bytes
	// text=1000.mp4 (application/mp4): 5 fragblobs, 1156 bytes
	// video=48000.mp4 (video/mp4): 7 fragblobs, 11804 bytes
}
