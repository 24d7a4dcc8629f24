package cmaf_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

var fixture struct {
	once sync.Once
	dir  string
	err  error
}

// ladder returns the packaging test assets (testvectors.Ladder), made once
// for all the tests of the package.
func ladder(t *testing.T) string {
	t.Helper()
	testvectors.NeedFFmpeg(t)
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "cmaf-ladder-")
		if fixture.err == nil {
			fixture.err = testvectors.MakeLadder(fixture.dir)
		}
	})
	if fixture.err != nil {
		t.Skip(fixture.err)
	}
	return fixture.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// encrypted returns the Files of the storage-encrypted asset in dir, read
// through serve as `amscrypt package` reads it.
func encrypted(t *testing.T, dir, keys string) cmaf.Files {
	t.Helper()
	data, err := os.ReadFile(keys)
	require.NoError(t, err)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: filepath.Base(keys), Data: data}}, nil)
	require.NoError(t, err)
	s, err := serve.New(context.Background(), restore.Dir{Root: dir}, plan, nil)
	require.NoError(t, err)
	return s
}

func plain(t *testing.T, dir string) cmaf.Files {
	t.Helper()
	f, err := cmaf.SourceFiles(context.Background(), restore.Dir{Root: dir})
	require.NoError(t, err)
	return f
}

// TestPackageLadder packages the ladder (three H.264 renditions with
// aligned 2 s GOPs, AAC in English and French, WebVTT, the .ism MES
// wrote) from its ciphertext, encrypted by Python, and checks what
// players and ffmpeg rely on: the manifests' attributes, and that every
// track read back through HLS and through DASH has the source's samples
// at the source's times (framemd5). The package of the plaintext is the
// same bytes, and a second run keeps everything.
func TestPackageLadder(t *testing.T) {
	ctx := context.Background()
	fx := ladder(t)
	out := t.TempDir()
	rep, err := cmaf.Package(ctx, restore.Dir{Root: out}, encrypted(t, filepath.Join(fx, "enc"), filepath.Join(fx, "keys.json")), nil)
	require.NoError(t, err)
	require.Len(t, rep.Presentations, 1)
	pr := rep.Presentations[0]
	require.Equal(t, "ladder.ism", pr.ISM)
	require.InDelta(t, 20, pr.Duration, 0.1)
	var kinds []string
	for _, tr := range pr.Tracks {
		kinds = append(kinds, string(tr.Kind)+":"+tr.Lang)
		if tr.Kind != cmaf.Text {
			require.Equal(t, 4, tr.Segments, "%s: 20 s in segments of at least 6 s", tr.Name)
		}
	}
	require.Equal(t, []string{"video:", "video:", "video:", "audio:eng", "audio:fra", "text:eng"}, kinds)
	require.Equal(t, 0, rep.Skipped)
	require.Equal(t, 6+5*(1+4)+1+2, rep.Written, "a playlist per track, init + 4 segments per media track, the VTT, two manifests")

	master := read(t, out, "master.m3u8")
	for _, want := range []string{
		`RESOLUTION=1280x720,FRAME-RATE=24.000`, `RESOLUTION=960x540`, `RESOLUTION=640x360`,
		`CODECS="avc1.4d401f,mp4a.40.2"`, `LANGUAGE="eng"`, `LANGUAGE="fra"`,
		`TYPE=SUBTITLES,GROUP-ID="subs",NAME="eng",LANGUAGE="eng"`, `SUBTITLES="subs"`,
	} {
		require.Contains(t, master, want)
	}
	require.Equal(t, 3, strings.Count(master, "#EXT-X-STREAM-INF:"))
	for _, l := range strings.Split(master, "\n") {
		if strings.HasPrefix(l, "#EXT-X-STREAM-INF:") {
			require.Regexp(t, `BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,`, l)
		}
	}
	require.Contains(t, read(t, out, "video-1.m3u8"), "#EXT-X-TARGETDURATION:6\n")
	mpd := read(t, out, "manifest.mpd")
	require.Contains(t, mpd, `type="static"`)
	require.Contains(t, mpd, `lang="fra"`)
	require.Contains(t, mpd, `media="video-1-$Number%05d$.m4s"`)
	require.Equal(t, read(t, filepath.Join(fx, "plain"), "ladder_eng.vtt"), read(t, out, "text-1-eng.vtt"))

	// Samples unchanged, at the same times, through HLS and DASH.
	sources := []string{"ladder_1280x720_800.mp4", "ladder_960x540_400.mp4", "ladder_640x360_220.mp4",
		"ladder_AACAudio_eng_128.mp4", "ladder_AACAudio_fra_128.mp4"}
	for i, src := range sources {
		name, kind, n := pr.Tracks[i].Name, "v", i
		if i >= 3 {
			kind, n = "a", i-3
		}
		want := testvectors.FrameMD5(t, filepath.Join(fx, "plain", src), "0:"+kind+":0")
		require.NotEmpty(t, want)
		hls := testvectors.FrameMD5(t, filepath.Join(out, name+".m3u8"), "0:"+kind+":0")
		if kind == "v" {
			require.Equal(t, want, hls, "HLS %s", name)
		}
		require.Equal(t, samples(want), samples(hls), "HLS %s", name)
		dash := testvectors.FrameMD5(t, filepath.Join(out, "manifest.mpd"), fmt.Sprintf("0:%s:%d", kind, n))
		require.Equal(t, samples(want), samples(dash), "DASH %s", name)
	}

	// The plaintext packages to the same bytes.
	out2 := t.TempDir()
	_, err = cmaf.Package(ctx, restore.Dir{Root: out2}, plain(t, filepath.Join(fx, "plain")), nil)
	require.NoError(t, err)
	requireSameTree(t, out, out2)

	// A second run keeps all. A file that is not this packaging's (here:
	// a segment cut short) is not replaced, and the error names it; once
	// it is moved away, a run writes it again, and only it.
	rep, err = cmaf.Package(ctx, restore.Dir{Root: out}, encrypted(t, filepath.Join(fx, "enc"), filepath.Join(fx, "keys.json")), nil)
	require.NoError(t, err)
	require.Equal(t, 0, rep.Written)
	seg := filepath.Join(out, "video-2-00003.m4s")
	require.NoError(t, os.Truncate(seg, 1000))
	_, err = cmaf.Package(ctx, restore.Dir{Root: out}, encrypted(t, filepath.Join(fx, "enc"), filepath.Join(fx, "keys.json")), nil)
	require.ErrorIs(t, err, fs.ErrExist)
	require.ErrorContains(t, err, "video-2-00003.m4s")
	require.NoError(t, os.Remove(seg))
	rep, err = cmaf.Package(ctx, restore.Dir{Root: out}, encrypted(t, filepath.Join(fx, "enc"), filepath.Join(fx, "keys.json")), nil)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Written)
	requireSameTree(t, out, out2)
}

// TestPackageSingleMP4: one interleaved progressive MP4 and no .ism is a
// presentation of its two tracks, at the root.
func TestPackageSingleMP4(t *testing.T) {
	fx := ladder(t)
	out := t.TempDir()
	rep, err := cmaf.Package(context.Background(), restore.Dir{Root: out},
		encrypted(t, filepath.Join(fx, "single-enc"), filepath.Join(fx, "single-keys.json")), &cmaf.Options{Workers: 1})
	require.NoError(t, err)
	require.Len(t, rep.Presentations[0].Tracks, 2)
	src := filepath.Join(fx, "single-plain", "single.mp4")
	for s, pl := range map[string]string{"0:v:0": "video-1.m3u8", "0:a:0": "audio-1-eng.m3u8"} {
		want := samples(testvectors.FrameMD5(t, src, s))
		require.Equal(t, want, samples(testvectors.FrameMD5(t, filepath.Join(out, "manifest.mpd"), s)), s)
		require.Equal(t, want, samples(testvectors.FrameMD5(t, filepath.Join(out, pl), s)), s)
	}
}

// TestPackageTwoISMs: each .ism is a presentation of its own, under its
// name.
func TestPackageTwoISMs(t *testing.T) {
	fx := ladder(t)
	out := t.TempDir()
	rep, err := cmaf.Package(context.Background(), restore.Dir{Root: out},
		encrypted(t, filepath.Join(fx, "multi-enc"), filepath.Join(fx, "multi-keys.json")), nil)
	require.NoError(t, err)
	require.Len(t, rep.Presentations, 2)
	require.Equal(t, "ladder/master.m3u8", rep.Presentations[0].Master)
	require.Equal(t, "ladder_360/manifest.mpd", rep.Presentations[1].MPD)
	require.Len(t, rep.Presentations[1].Tracks, 2)
	require.Equal(t, "fra", rep.Presentations[1].Tracks[1].Lang)
	require.FileExists(t, filepath.Join(out, "ladder_360", "audio-1-fra-00004.m4s"))
}

// samples keeps framemd5's size and MD5 columns. ffmpeg differs in how
// it times a progressive file and a fragmented one: it applies an edit
// list (an AAC track's priming and trimmed end) only to the former, and its
// DASH demuxer shifts every stream by the earliest start of any. The
// timestamps are compared where ffmpeg reads both alike (video through
// HLS); the samples themselves everywhere.
func samples(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		// stream, dts, pts, duration, size, hash[, side data]
		f := strings.Split(l, ",")
		out[i] = strings.Join(f[4:min(6, len(f))], ",")
	}
	return out
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

func requireSameTree(t *testing.T, a, b string) {
	t.Helper()
	ea, err := os.ReadDir(a)
	require.NoError(t, err)
	eb, err := os.ReadDir(b)
	require.NoError(t, err)
	require.Equal(t, len(ea), len(eb))
	for _, e := range ea {
		require.Equal(t, read(t, a, e.Name()), read(t, b, e.Name()), e.Name())
	}
}

// TestPackageSmooth: a Smooth Streaming set (.ismv/.isma, fragmented, as
// ffmpeg's ismv muxer writes them with tfxd) packages from its moofs, with
// the samples of the MP4s it was made from.
func TestPackageSmooth(t *testing.T) {
	fx := ladder(t)
	in := t.TempDir()
	for src, dst := range map[string]string{"ladder_960x540_400.mp4": "v540.ismv", "ladder_640x360_220.mp4": "v360.ismv", "ladder_AACAudio_fra_128.mp4": "a.isma"} {
		out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", filepath.Join(fx, "plain", src), "-c", "copy", "-f", "ismv", filepath.Join(in, dst)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	require.NoError(t, os.WriteFile(filepath.Join(in, "s.ism"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<smil xmlns="http://www.w3.org/2001/SMIL20/Language"><head><meta name="formats" content="ismv"/></head><body><switch>
<video src="v540.ismv" systemBitrate="400000"/><video src="v360.ismv" systemBitrate="220000"/>
<audio src="a.isma" systemBitrate="128000" systemLanguage="fra"/></switch></body></smil>`), 0o600))
	out := t.TempDir()
	rep, err := cmaf.Package(context.Background(), restore.Dir{Root: out}, plain(t, in), nil)
	require.NoError(t, err)
	require.Len(t, rep.Presentations[0].Tracks, 3)
	for pl, src := range map[string]string{"video-1.m3u8": "ladder_960x540_400.mp4", "video-2.m3u8": "ladder_640x360_220.mp4", "audio-1-fra.m3u8": "ladder_AACAudio_fra_128.mp4"} {
		s := "0:v:0"
		if strings.HasPrefix(pl, "audio") {
			s = "0:a:0"
		}
		require.Equal(t, samples(testvectors.FrameMD5(t, filepath.Join(fx, "plain", src), s)), samples(testvectors.FrameMD5(t, filepath.Join(out, pl), s)), pl)
	}
}

// TestPackageLiveArchive: a live archive (encrypted by Python) packages
// from its stitched tracks, each with the samples restore --stitch writes;
// its fMP4 text track is left out with a note.
func TestPackageLiveArchive(t *testing.T) {
	testvectors.NeedFFmpeg(t)
	ctx := context.Background()
	enc, keys := testvectors.EncryptLiveArchive(t)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	stitched := t.TempDir()
	r, err := restore.Run(ctx, restore.Dir{Root: stitched}, restore.Dir{Root: enc}, plan, &restore.RunOptions{Stitch: true})
	require.NoError(t, err)
	require.True(t, r.OK())
	s, err := serve.New(ctx, restore.Dir{Root: enc}, plan, nil)
	require.NoError(t, err)
	out := t.TempDir()
	rep, err := cmaf.Package(ctx, restore.Dir{Root: out}, s, nil)
	require.NoError(t, err)
	pr := rep.Presentations[0]
	require.Equal(t, "live.ism", pr.ISM)
	require.Len(t, pr.Tracks, 3)
	require.Len(t, pr.Notes, 1)
	require.Contains(t, pr.Notes[0], "text=1000")
	for pl, src := range map[string]string{"video-1.m3u8": "video=48000.mp4", "audio-1-eng.m3u8": "audio_eng=32000.mp4", "audio-2-fra.m3u8": "audio_fra=32000.mp4"} {
		s := "0:v:0"
		if strings.HasPrefix(pl, "audio") {
			s = "0:a:0"
		}
		want := samples(testvectors.FrameMD5(t, filepath.Join(stitched, src), s))
		require.NotEmpty(t, want)
		require.Equal(t, want, samples(testvectors.FrameMD5(t, filepath.Join(out, pl), s)), pl)
	}
}

// TestISMOddTracks: a server manifest that names one track twice is
// refused saying so (it said the file had no such track), and a text track
// whose .vtt is not WebVTT is left out with a note, as one that is not a
// .vtt is (it failed the whole package).
func TestISMOddTracks(t *testing.T) {
	fx := ladder(t)
	mk := func(body string, extra map[string]string) cmaf.Files {
		dir := t.TempDir()
		for _, n := range []string{"ladder_640x360_220.mp4", "ladder_AACAudio_eng_128.mp4"} {
			b, err := os.ReadFile(filepath.Join(fx, "plain", n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o600))
		}
		for n, b := range extra {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(b), 0o600))
		}
		ism := `<?xml version="1.0" encoding="utf-8"?><smil xmlns="http://www.w3.org/2001/SMIL20/Language"><body><switch>` + body + `</switch></body></smil>`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.ism"), []byte(ism), 0o600))
		return plain(t, dir)
	}
	v, a := `<video src="ladder_640x360_220.mp4"/>`, `<audio src="ladder_AACAudio_eng_128.mp4"/>`
	_, err := cmaf.Presentations(context.Background(), mk(v+v+a, nil), nil)
	require.ErrorIs(t, err, cmaf.ErrMedia)
	require.ErrorContains(t, err, `names the video track of "ladder_640x360_220.mp4" twice`)
	_, err = cmaf.Presentations(context.Background(), mk(v+a+a, nil), nil)
	require.ErrorContains(t, err, `names the audio track of "ladder_AACAudio_eng_128.mp4" twice`)

	ps, err := cmaf.Presentations(context.Background(), mk(v+a+`<textstream src="bad.vtt" systemLanguage="eng"/>`,
		map[string]string{"bad.vtt": "1\n00:00:00,000 --> 00:00:01,000\nan SRT file\n"}), nil)
	require.NoError(t, err)
	require.Len(t, ps[0].Tracks, 2)
	require.Equal(t, []string{`a.ism: text track bad.vtt left out: "bad.vtt" does not start with WEBVTT`}, ps[0].Notes)
}

// TestTwoISMsOneDirectory: two server manifests whose names differ only in
// their extension's case (ladder.ism, ladder.ISM) would be packaged into
// the same directory: refused up front, naming both, before anything is
// written (the second presentation's files went in among the first's,
// then failed as "already holds a different file").
func TestTwoISMsOneDirectory(t *testing.T) {
	fx := ladder(t)
	dir := t.TempDir()
	for _, n := range []string{"ladder_640x360_220.mp4", "ladder_AACAudio_eng_128.mp4"} {
		b, err := os.ReadFile(filepath.Join(fx, "plain", n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o600))
	}
	smil := func(body string) []byte {
		return []byte(`<smil xmlns="http://www.w3.org/2001/SMIL20/Language"><body><switch>` + body + `</switch></body></smil>`)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ladder.ism"), smil(`<video src="ladder_640x360_220.mp4"/>`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ladder.ISM"), smil(`<audio src="ladder_AACAudio_eng_128.mp4"/>`), 0o600))
	out := t.TempDir()
	_, err := cmaf.Package(context.Background(), restore.Dir{Root: out}, plain(t, dir), nil)
	require.ErrorIs(t, err, cmaf.ErrMedia)
	require.ErrorContains(t, err, `"ladder.ISM" and "ladder.ism" would both be packaged into "ladder/"`)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Empty(t, entries)
}
