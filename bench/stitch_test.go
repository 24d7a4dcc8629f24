package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// liveTrack is one track of the synthetic live archive.
type liveTrack struct {
	prefix    string // "<StreamIndex Name>=<Bitrate>", AMS's own naming
	header    string // a fixture header with the track's timescale
	timescale uint64
	fragSize  int // bytes of samples per fragment
	samples   int // per fragment
	sampleDur uint32
}

// liveArchiveTracks is a 1 GiB live archive of 320 fragments of 2 s (10
// min 40 s): three video renditions (2 MiB, 1 MiB and 320 KiB a fragment)
// and one audio track, as an AMS channel recorded them.
var liveArchiveTracks = []liveTrack{
	{"video=8000000", "video=48000", 10_000_000, 2 * mib, 50, 400_000},
	{"video=4000000", "video=48000", 10_000_000, 1 * mib, 50, 400_000},
	{"video=1280000", "video=48000", 10_000_000, 320 << 10, 50, 400_000},
	{"audio=128000", "audio_eng=32000", 48_000, 32 << 10, 94, 1024},
}

const liveFragments = 320

// liveArchive writes the synthetic archive, encrypted (one IV per track,
// each fragblob from counter 0; the .ismc with its own), under dir/enc and
// returns it, its plan and its size. Fragments are moof+mdat made with
// mp4ff, with zero samples: the stitcher reads boxes, not media.
func liveArchive(b *testing.B, dir string) (string, *keyexport.Plan, int64) {
	b.Helper()
	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "enc")
	var ismc strings.Builder
	ismc.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<SmoothStreamingMedia MajorVersion="2" MinorVersion="2" TimeScale="10000000">` + "\n")
	var files []string
	var total int64
	zeros := make([]byte, 2*mib)
	for _, tr := range liveArchiveTracks {
		name, bitrate, _ := strings.Cut(tr.prefix, "=")
		typ := "video"
		if name == "audio" {
			typ = "audio"
		}
		fragDur := uint64(tr.samples) * uint64(tr.sampleDur)
		fmt.Fprintf(&ismc, `<StreamIndex Type="%s" Name="%s" TimeScale="%d" Chunks="%d"><QualityLevel Index="0" Bitrate="%s" FourCC="H264"/><c t="0" d="%d" r="%d"/></StreamIndex>`+"\n",
			typ, name, tr.timescale, liveFragments, bitrate, fragDur, liveFragments)
		iv := newIV(b)
		files = append(files, fmt.Sprintf(`{"name":%q,"iv":"%d"}`, tr.prefix, iv))
		c, err := blobcrypt.NewCipher(key, iv)
		if err != nil {
			b.Fatal(err)
		}
		put := func(name string, data []byte) {
			c.XORKeyStreamAt(data, data, 0)
			if err := os.WriteFile(filepath.Join(src, tr.prefix, name), data, 0o600); err != nil {
				b.Fatal(err)
			}
			total += int64(len(data))
		}
		if err := os.MkdirAll(filepath.Join(src, tr.prefix), 0o700); err != nil {
			b.Fatal(err)
		}
		put("header", readTestdata(b, filepath.Join("livearchive", "archive", tr.header, "header")))
		size := uint32(tr.fragSize / tr.samples)
		for i := range liveFragments {
			f, err := mp4.CreateFragment(uint32(i+1), 1)
			if err != nil {
				b.Fatal(err)
			}
			t := uint64(i) * fragDur
			for k := range tr.samples {
				flags := uint32(0x01010000) // a non-sync sample
				if k == 0 {
					flags = 0x02000000
				}
				f.AddFullSample(mp4.FullSample{Sample: mp4.Sample{Flags: flags, Dur: tr.sampleDur, Size: size},
					DecodeTime: t + uint64(k)*uint64(tr.sampleDur), Data: zeros[:size]})
			}
			var buf bytes.Buffer
			if err := f.Encode(&buf); err != nil {
				b.Fatal(err)
			}
			put(fmt.Sprint(t), buf.Bytes())
		}
	}
	ismc.WriteString("</SmoothStreamingMedia>\n")
	iv := newIV(b)
	c, err := blobcrypt.NewCipher(key, iv)
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(ismc.String())
	files = append(files, fmt.Sprintf(`{"name":"live.ismc","iv":"%d","size":"%d"}`, iv, len(doc)))
	c.XORKeyStreamAt(doc, doc, 0)
	if err := os.WriteFile(filepath.Join(src, "live.ismc"), doc, 0o600); err != nil {
		b.Fatal(err)
	}
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "manifest", Data: fmt.Appendf(nil,
		`{"amscryptManifest":1,"key":%q,"keyId":%q,"files":[%s]}`, b64(key), id.String(), strings.Join(files, ","))}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return src, plan, total
}

// BenchmarkStitchLiveArchive restores a 1 GiB live archive (four tracks
// of 321 fragblobs each, see liveArchiveTracks) directory to directory in
// both ways in every op: as fragblob files (restore's default) and as one
// MP4 per track (--stitch), each decrypting and hashing every byte into a
// fresh output directory (removing it is not timed), the order
// alternating from op to op so that a noisy machine weighs on both alike.
// It reports each one's seconds per op and "fragblobs/stitch", the speed
// of stitching relative to restoring the fragblobs (goal >= 0.9). On tmpfs
// when /dev/shm exists.
func BenchmarkStitchLiveArchive(b *testing.B) {
	dir := benchDir(b)
	src, plan, total := liveArchive(b, dir)
	out := filepath.Join(dir, "out")
	once := func(stitch bool) time.Duration {
		if err := os.RemoveAll(out); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		r, err := restore.Run(context.Background(), restore.Dir{Root: out}, restore.Dir{Root: src}, plan,
			&restore.RunOptions{Stitch: stitch})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		want := map[restore.Status]int{restore.StatusRestored: 4*(liveFragments+1) + 1}
		if stitch {
			want = map[restore.Status]int{restore.StatusRestored: 5}
		}
		if fmt.Sprint(r.Summary) != fmt.Sprint(want) || len(r.WithGaps()) > 0 {
			b.Fatalf("stitch %v: %v, want %v; %+v", stitch, r.Summary, want, r.Files[0])
		}
		return d
	}
	var frags, stitched time.Duration
	b.SetBytes(2 * total)
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			frags += once(false)
			stitched += once(true)
		} else {
			stitched += once(true)
			frags += once(false)
		}
		i++
	}
	b.ReportMetric(frags.Seconds()/float64(i), "fragblobs-s/op")
	b.ReportMetric(stitched.Seconds()/float64(i), "stitch-s/op")
	b.ReportMetric(frags.Seconds()/stitched.Seconds(), "fragblobs/stitch")
}
