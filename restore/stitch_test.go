package restore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// liveFixture is testdata/livearchive: the plaintext archive that
// gen_livearchive.py cut from ffmpeg output, and the sources it was cut from.
var liveFixture = filepath.Join(testvectors.Dir, "livearchive")

// liveSources maps each track prefix of the fixture to the ffmpeg output
// it was cut from (expected.json).
func liveSources(t testing.TB) map[string]string {
	var e struct {
		Tracks map[string]struct {
			Source string `json:"source"`
		} `json:"tracks"`
	}
	testvectors.Load(t, "livearchive/expected.json", &e)
	out := map[string]string{}
	for prefix, tr := range e.Tracks {
		out[prefix] = filepath.Join(liveFixture, tr.Source)
	}
	require.Len(t, out, 4)
	return out
}

// encryptLive is the fixture archive encrypted by Python
// (testvectors.EncryptLiveArchive) and the plan of its v3 export.
func encryptLive(t testing.TB, args ...string) (string, *keyexport.Plan) {
	t.Helper()
	enc, keys := testvectors.EncryptLiveArchive(t, args...)
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	return enc, p
}

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (CI installs it before go test): %v", tool, err)
		}
	}
}

type probed struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Packets   string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "json", path).Output()
	require.NoError(t, err, "ffprobe %s", path)
	var p probed
	require.NoError(t, json.Unmarshal(out, &p))
	require.NotEmpty(t, p.Streams, path)
	return p
}

func (p probed) duration(t testing.TB) float64 {
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	require.NoError(t, err)
	return d
}

// framemd5 is every packet's MD5 and times, copied without decoding.
func framemd5(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0", "-c", "copy", "-f", "framemd5", "-").Output()
	require.NoError(t, err, "ffmpeg framemd5 %s", path)
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	require.NotEmpty(t, lines)
	return strings.Join(lines, "\n")
}

// stitchedPlain is a track stitched by livearchive from the plaintext
// fixture: what restore --stitch must write, byte for byte.
func stitchedPlain(t testing.TB, prefix string) []byte {
	t.Helper()
	dir := filepath.Join(liveFixture, "archive")
	f, err := os.Open(filepath.Join(dir, "live.ismc"))
	require.NoError(t, err)
	defer f.Close()
	m, err := livearchive.ParseManifest(f)
	require.NoError(t, err)
	g, err := os.Open(filepath.Join(dir, "live.ism"))
	require.NoError(t, err)
	defer g.Close()
	sm, err := livearchive.ParseServerManifest(g)
	require.NoError(t, err)
	trs, err := m.Tracks(sm)
	require.NoError(t, err)
	for _, tr := range trs {
		if tr.Prefix == prefix {
			s, err := livearchive.New(context.Background(), livearchive.FS(os.DirFS(filepath.Join(dir, prefix))), tr,
				&livearchive.Options{Origin: m.Origin(tr.Stream.TimeScale)})
			require.NoError(t, err)
			var b bytes.Buffer
			_, err = s.Stream(context.Background(), &b)
			require.NoError(t, err)
			return b.Bytes()
		}
	}
	t.Fatalf("no track %s", prefix)
	return nil
}

// TestStitchRestore: restore --stitch of a live archive encrypted by
// Python writes one MP4 per track and the manifests, no fragblob; each MP4
// is what livearchive stitches from the plaintext, ffprobe finds its
// stream and a duration within one fragment (2 s) of the source's, and
// ffmpeg's framemd5 of it equals the source's.
func TestStitchRestore(t *testing.T) {
	enc, p := encryptLive(t)
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.True(t, r.OK(), "%+v", r)
	require.Empty(t, r.WithGaps())
	got := byName(r)
	sources := liveSources(t)
	var names []string
	for _, f := range r.Files {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"audio_eng=32000.mp4", "audio_fra=32000.mp4", "live.ism", "live.ismc", "text=1000.mp4", "video=48000.mp4"}, names)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 6, "the manifests and one file per track, no fragblob directory")
	for prefix := range sources {
		name := prefix + ".mp4"
		fr := got[name]
		path := filepath.Join(out, name)
		require.Equal(t, restore.StatusRestored, fr.Status, name)
		require.Equal(t, media.LevelStructure, fr.Verified, "%s: the stitched file's structure verified as it streamed", name)
		want := stitchedPlain(t, prefix)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, data, name)
		require.Equal(t, int64(len(data)), *fr.Size)
		require.Equal(t, sha256File(t, path), fr.SHA256)
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	for _, name := range []string{"live.ism", "live.ismc"} {
		want, err := os.ReadFile(filepath.Join(liveFixture, "archive", name))
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		require.Equal(t, want, data, name)
	}

	needFFmpeg(t)
	for prefix, src := range sources {
		path := filepath.Join(out, prefix+".mp4")
		gotP, refP := ffprobe(t, path), ffprobe(t, src)
		require.Len(t, gotP.Streams, 1)
		require.Equal(t, refP.Streams[0].CodecType, gotP.Streams[0].CodecType, prefix)
		require.Equal(t, refP.Streams[0].CodecName, gotP.Streams[0].CodecName, prefix)
		require.Equal(t, refP.Streams[0].Packets, gotP.Streams[0].Packets, prefix)
		require.InDelta(t, refP.duration(t), gotP.duration(t), 2.0, "%s: within one fragment of the source", prefix)
		require.Equal(t, framemd5(t, src), framemd5(t, path), "%s: samples and times as in the source", prefix)
		t.Logf("%s.mp4: %s %s, %s packets, ffprobe duration %s s (source %s s), framemd5 equal",
			prefix, gotP.Streams[0].CodecType, gotP.Streams[0].CodecName, gotP.Streams[0].Packets, gotP.Format.Duration, refP.Format.Duration)
	}
}

// TestStitchGaps: a fragblob removed from the source and one the client
// manifest's timeline does not name are reported on the track with their
// times; the track is restored anyway and the report stays OK.
func TestStitchGaps(t *testing.T) {
	enc, p := encryptLive(t, "--untimed-last", "video")
	require.NoError(t, os.Remove(filepath.Join(enc, "video=48000", "36040000000")))
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.True(t, r.OK(), "gaps are not failures: %+v", r)
	gaps := r.WithGaps()
	require.Len(t, gaps, 1)
	v := gaps[0]
	require.Equal(t, "video=48000.mp4", v.Name)
	require.Equal(t, restore.StatusRestored, v.Status)
	require.Equal(t, &livearchive.Gaps{
		TimeScale: 10_000_000,
		Missing:   []livearchive.Gap{{Start: 36040000000, End: 36060000000, Fragments: 1, StartSeconds: 3604, EndSeconds: 3606}},
		Extra:     []livearchive.Extra{{Name: "36100000000", Start: 36100000000, StartSeconds: 3610}},
	}, v.Gaps)
	require.Contains(t, v.Note, "4.000-6.000 s")
	require.Contains(t, v.Note, "36100000000 at 10.000 s")
	t.Logf("report line: %+v", v)

	// The JSON report carries them as written.
	doc, err := json.Marshal(v)
	require.NoError(t, err)
	require.Contains(t, string(doc), `"gaps":{"timeScale":10000000,"missing":[{"start":36040000000,"end":36060000000,"fragments":1,"startSeconds":3604,"endSeconds":3606}],"extra":[{"name":"36100000000"`)

	needFFmpeg(t)
	pr := ffprobe(t, filepath.Join(out, "video=48000.mp4"))
	require.Equal(t, "h264", pr.Streams[0].CodecName)
	require.Equal(t, "225", pr.Streams[0].Packets, "275 frames less the 50 of the missing fragment")
}

// TestStitchRerunSkips: running the same restore again skips every file,
// the stitched tracks included, and changes nothing.
func TestStitchRerunSkips(t *testing.T) {
	enc, p := encryptLive(t)
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.Equal(t, 6, r.Summary[restore.StatusRestored])
	before := map[string]os.FileInfo{}
	for _, f := range r.Files {
		info, err := os.Stat(filepath.Join(out, f.Name))
		require.NoError(t, err)
		before[f.Name] = info
	}
	r2 := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.True(t, r2.OK())
	require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 6}, r2.Summary)
	for _, f := range r2.Files {
		info, err := os.Stat(filepath.Join(out, f.Name))
		require.NoError(t, err)
		require.True(t, os.SameFile(before[f.Name], info), f.Name)
		require.Equal(t, before[f.Name].ModTime(), info.ModTime(), f.Name)
	}

	// A different file of the same size at a track's name is not replaced.
	path := filepath.Join(out, "video=48000.mp4")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)-1] ^= 1
	require.NoError(t, os.WriteFile(path, data, 0o600))
	r3 := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	f := byName(r3)["video=48000.mp4"]
	require.Equal(t, restore.StatusFailed, f.Status)
	require.Contains(t, f.Error, "different file of the same size")
}

// TestStitchCheck: --check --stitch computes every track's layout and
// gaps and writes nothing.
func TestStitchCheck(t *testing.T) {
	enc, p := encryptLive(t, "--untimed-last", "video")
	out := filepath.Join(t.TempDir(), "out")
	r, err := restore.Run(context.Background(), restore.Dir{Root: out}, restore.Dir{Root: enc}, p,
		&restore.RunOptions{Stitch: true, Check: true})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	require.Equal(t, map[restore.Status]int{restore.StatusChecked: 6}, r.Summary)
	require.Equal(t, int64(len(stitchedPlain(t, "audio_eng=32000"))), *byName(r)["audio_eng=32000.mp4"].Size)
	require.Len(t, r.WithGaps(), 1)
	_, err = os.Stat(out)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing written")
}

// TestStitchNeedsTheClientManifest: without the .ismc no track can be
// stitched, and each says why; a file at a track's stitched name keeps
// that track from being written over it.
func TestStitchNeedsTheClientManifest(t *testing.T) {
	enc, p := encryptLive(t)
	require.NoError(t, os.Remove(filepath.Join(enc, "live.ismc")))
	r := run(t, filepath.Join(t.TempDir(), "out"), restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.False(t, r.OK())
	f := byName(r)["video=48000.mp4"]
	require.Equal(t, restore.StatusFailed, f.Status)
	require.Contains(t, f.Error, "no client manifest (.ismc)")
	require.Equal(t, restore.StatusMissing, byName(r)["live.ismc"].Status)

	enc, p = encryptLive(t)
	require.NoError(t, os.WriteFile(filepath.Join(enc, "text=1000.mp4"), []byte("not ours"), 0o600))
	r = run(t, filepath.Join(t.TempDir(), "out"), restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	f = byName(r)["text=1000.mp4"]
	require.Equal(t, restore.StatusFailed, f.Status, "%+v", r)
	require.Contains(t, f.Error, "holds a file named text=1000.mp4 already")
	require.Equal(t, restore.StatusRestored, byName(r)["video=48000.mp4"].Status)
}

// TestStitchWrongTrackIV: a track whose exported IV is wrong fails on its
// fragblobs' heads before anything is written for it.
func TestStitchWrongTrackIV(t *testing.T) {
	enc, p := encryptLive(t)
	for i := range p.Entries {
		if p.Entries[i].Name == "audio_fra=32000" {
			p.Entries[i].IV ^= 1 << 40
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, out, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	f := byName(r)["audio_fra=32000.mp4"]
	require.Equal(t, restore.StatusFailed, f.Status)
	require.Contains(t, f.Error, "fragblob audio_fra=32000/")
	require.Contains(t, f.Error, "7 of the track's 7 fragblobs failed")
	_, err := os.Stat(filepath.Join(out, "audio_fra=32000.mp4"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, restore.StatusRestored, byName(r)["audio_eng=32000.mp4"].Status)
}
