package azblobcrypt_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/serve"
)

// requestLog is an SDK transport that records the requests it sends.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // method, path and Range of each
}

func (l *requestLog) Do(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, req.Method+" "+req.URL.Path+" "+req.Header.Get("x-ms-range"))
	l.mu.Unlock()
	return http.DefaultClient.Do(req)
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs
	l.reqs = nil
	return r
}

// TestServeFromContainer: serve answers each range of a blob with one
// ranged GET, pinned to the ETag listed at start.
func TestServeFromContainer(t *testing.T) {
	src := azuritetest.NewContainer(t)
	rw := src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	enc := filepath.Join(testvectors.Dir, "restore", "vod", "enc")
	azuritetest.PutFiles(t, rw, enc)
	log := &requestLog{}
	c, err := azblobcrypt.NewContainer(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)),
		&azblobcrypt.ContainerOptions{ClientOptions: &container.ClientOptions{ClientOptions: policy.ClientOptions{Transport: log}}})
	require.NoError(t, err)
	s, err := serve.New(context.Background(), c, fixturePlan(t, "vod/keys/v3.json"), nil)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	defer ts.Close()
	log.take()

	want, err := os.ReadFile(filepath.Join(testvectors.Dir, "restore", "vod", "plain", "movie.mp4"))
	require.NoError(t, err)
	for _, rng := range [][2]int{{0, 0}, {1000, 200999}, {0, len(want) - 1}} {
		req, _ := http.NewRequest("GET", ts.URL+"/movie.mp4", nil)
		req.Header.Set("Range", "bytes="+strconv.Itoa(rng[0])+"-"+strconv.Itoa(rng[1]))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, want[rng[0]:rng[1]+1], got)
		reqs := log.take()
		require.Len(t, reqs, 1, "%v", reqs)
		require.Equal(t, "GET /"+src.Name+"/movie.mp4 bytes="+strconv.Itoa(rng[0])+"-"+strconv.Itoa(rng[1]), strings.TrimPrefix(reqs[0], "GET /devstoreaccount1"))
	}

	// The blob replaced after the listing: its bytes are not mixed in.
	azuritetest.PutFiles(t, rw, filepath.Join(testvectors.Dir, "restore", "vod", "plain"))
	resp, err := http.Get(ts.URL + "/movie.mp4")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(body), "changed")
	require.NotContains(t, string(body), "sig=")
}
