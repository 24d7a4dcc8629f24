package livearchive_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
