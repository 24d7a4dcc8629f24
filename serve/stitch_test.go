package serve_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// liveArchive is the fixture live archive encrypted by Python
// (testvectors.EncryptLiveArchive), its plan, and each track restored
// with restore --stitch into a directory: what serve must answer.
func liveArchive(t *testing.T, args ...string) (enc string, p *keyexport.Plan, restored string) {
	t.Helper()
	enc, keys := testvectors.EncryptLiveArchive(t, args...)
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	restored = t.TempDir()
	r, err := restore.Run(context.Background(), restore.Dir{Root: restored}, restore.Dir{Root: enc}, p, &restore.RunOptions{Stitch: true})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	return enc, p, restored
}

var liveTracks = []string{"audio_eng=32000.mp4", "audio_fra=32000.mp4", "text=1000.mp4", "video=48000.mp4"}

// TestStitchedTracks: every live-archive track is served as
// "<prefix>.mp4", listed in GET /, and whole, by ranges (random ones,
// multipart, suffix) and with HEAD equals the file restore --stitch
// writes, byte for byte.
func TestStitchedTracks(t *testing.T) {
	enc, p, restored := liveArchive(t, "--untimed-last", "video")
	ts, _ := newServer(t, restore.Dir{Root: enc}, p, nil)

	resp, body := get(t, "GET", ts.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var idx serve.Index
	require.NoError(t, json.Unmarshal(body, &idx))
	byName := map[string]serve.IndexEntry{}
	for _, e := range idx.Files {
		byName[e.Name] = e
	}
	for _, name := range liveTracks {
		e, ok := byName[name]
		require.True(t, ok, "%s listed in %s", name, body)
		require.Equal(t, restore.StatusChecked, e.Status, name)
		require.Equal(t, media.LevelHead, e.Verified, name)
		require.Contains(t, e.Note, "stitched on request")
	}
	require.Equal(t, "video/mp4", byName["video=48000.mp4"].Type)
	require.Equal(t, "audio/mp4", byName["audio_eng=32000.mp4"].Type)
	require.NotNil(t, byName["video=48000.mp4"].Gaps, "the untimed last fragment")
	require.Equal(t, "36100000000", byName["video=48000.mp4"].Gaps.Extra[0].Name)
	require.Nil(t, byName["audio_eng=32000.mp4"].Gaps)
	_, ok := byName["video=48000/header"]
	require.True(t, ok, "fragblobs stay reachable")

	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range liveTracks {
		want, err := os.ReadFile(filepath.Join(restored, name))
		require.NoError(t, err)
		url := ts.URL + "/" + strings.ReplaceAll(name, "=", "%3D")
		resp, body := get(t, "GET", url)
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		require.Equal(t, want, body, name)
		resp, _ = get(t, "HEAD", url)
		require.Equal(t, fmt.Sprint(len(want)), resp.Header.Get("Content-Length"))
		require.NotEmpty(t, resp.Header.Get("ETag"))
		for range 20 {
			a := rng.IntN(len(want))
			b := a + rng.IntN(len(want)-a)
			resp, body := get(t, "GET", url, "Range", fmt.Sprintf("bytes=%d-%d", a, b))
			require.Equal(t, http.StatusPartialContent, resp.StatusCode)
			require.Equal(t, want[a:b+1], body, "%s bytes %d-%d", name, a, b)
		}
		resp, body = get(t, "GET", url, "Range", "bytes=-100")
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, want[len(want)-100:], body)
		resp, body = get(t, "GET", url, "Range", "bytes=0-9,100-199")
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Type"), "multipart/byteranges")
		require.Contains(t, string(body), string(want[100:200]))
		resp, _ = get(t, "GET", url, "Range", fmt.Sprintf("bytes=%d-", len(want)))
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	}

	// ffprobe reads a stitched track over HTTP as it reads the restored file.
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("no ffprobe")
	}
	probe := func(in string) string {
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration",
			"-of", "csv=p=0", in).CombinedOutput()
		require.NoError(t, err, "ffprobe %s: %s", in, out)
		return string(out)
	}
	for _, name := range liveTracks {
		got, want := probe(ts.URL+"/"+name), probe(filepath.Join(restored, name))
		require.Equal(t, want, got, name)
		t.Logf("ffprobe over HTTP %s: %s", name, strings.ReplaceAll(strings.TrimSpace(got), "\n", " "))
	}
}

// TestStitchedTrackNeverShadowsAFile: a file of the asset named like a
// track's stitched file is served as itself; the track is not.
func TestStitchedTrackNeverShadowsAFile(t *testing.T) {
	enc, keys := testvectors.EncryptLiveArchive(t)
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	// The ffmpeg source of the video track, encrypted (openssl or Python,
	// testvectors.AES256CTR) as "video=48000.mp4" and named by the plan.
	src, err := os.ReadFile(filepath.Join(testvectors.Dir, "livearchive", "src", "video.mp4"))
	require.NoError(t, err)
	var doc struct {
		Key string `json:"key"`
	}
	require.NoError(t, json.Unmarshal(keys, &doc))
	key, err := base64.StdEncoding.DecodeString(doc.Key)
	require.NoError(t, err)
	const iv = 1234567890123
	require.NoError(t, os.WriteFile(filepath.Join(enc, "video=48000.mp4"), testvectors.AES256CTR(t, key, iv, src), 0o600))
	p.Entries = append(p.Entries, keyexport.Entry{Name: "video=48000.mp4", IV: iv, Size: -1})
	slices.SortFunc(p.Entries, func(a, b keyexport.Entry) int { return strings.Compare(a.Name, b.Name) })

	ts, _ := newServer(t, restore.Dir{Root: enc}, p, nil)
	resp, body := get(t, "GET", ts.URL+"/video=48000.mp4")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, src, body, "the asset's file, not the stitched track")
	_, idx := get(t, "GET", ts.URL+"/")
	require.Equal(t, 1, strings.Count(string(idx), `"name": "video=48000.mp4"`))
	resp, _ = get(t, "GET", ts.URL+"/audio_eng=32000.mp4")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestStitchedTrackFailsWithItsFragblobs: a track whose IV is wrong is
// listed as failed and answers 502 with the reason.
func TestStitchedTrackFailsWithItsFragblobs(t *testing.T) {
	enc, keys := testvectors.EncryptLiveArchive(t)
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	i := slices.IndexFunc(p.Entries, func(e keyexport.Entry) bool { return e.Name == "text=1000" })
	p.Entries[i].IV ^= 1 << 7
	ts, _ := newServer(t, restore.Dir{Root: enc}, p, nil)
	resp, body := get(t, "GET", ts.URL+"/text=1000.mp4")
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(body), "fragblob text=1000/")
	resp, _ = get(t, "GET", ts.URL+"/video=48000.mp4")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
