package livearchive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

// memFragments holds fragblobs in memory and counts opens and reads.
type memFragments struct {
	blobs map[string][]byte
	opens atomic.Int64
	reads atomic.Int64
}

func loadMem(t testing.TB, prefix string) *memFragments {
	m := &memFragments{blobs: map[string][]byte{}}
	require.NoError(t, fs.WalkDir(os.DirFS(trackDir(prefix)), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(trackDir(prefix), p))
		m.blobs[p] = data
		return err
	}))
	return m
}

func (m *memFragments) Names(context.Context) ([]string, error) {
	var out []string
	for n := range m.blobs {
		out = append(out, n)
	}
	return out, nil
}

func (m *memFragments) Open(_ context.Context, name string) (livearchive.Blob, error) {
	b, ok := m.blobs[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	m.opens.Add(1)
	return &countingBlob{bytes.NewReader(b), &m.reads}, nil
}

type countingBlob struct {
	*bytes.Reader
	reads *atomic.Int64
}

func (c *countingBlob) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	return c.Reader.ReadAt(p, off)
}

func stitch(t testing.TB, frags livearchive.Fragments, tr livearchive.Track, opts *livearchive.Options) ([]byte, *livearchive.Stitcher) {
	t.Helper()
	s, err := livearchive.New(context.Background(), frags, tr, opts)
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := s.Stream(context.Background(), &buf)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), n)
	return buf.Bytes(), s
}

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (CI installs it before go test): %v", tool, err)
		}
	}
}

func writeTemp(t testing.TB, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// probe is what ffprobe says of a file's streams and format.
type probe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Tags      struct {
			Language string `json:"language"`
		} `json:"tags"`
		StartTime string `json:"start_time"`
		Duration  string `json:"duration"`
		NbFrames  string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "json", path).Output()
	require.NoError(t, err, "ffprobe %s", path)
	var p probe
	require.NoError(t, json.Unmarshal(out, &p))
	return p
}

// framemd5 is ffmpeg's per-packet MD5s and timestamps of every stream of
// path, copied without decoding: equal lists mean equal samples at equal
// times.
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
	require.NotEmpty(t, lines, "framemd5 of %s", path)
	return strings.Join(lines, "\n")
}
