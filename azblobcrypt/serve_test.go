package azblobcrypt_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/serve"
)

// TestServeFromContainer: serve answers each range of a blob with one
// ranged GET from its start, pinned to the ETag listed at start.
func TestServeFromContainer(t *testing.T) {
	src := azuritetest.NewContainer(t)
	rw := src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	enc := filepath.Join(testvectors.Dir, "restore", "vod", "enc")
	azuritetest.PutFiles(t, rw, enc)
	log := &requestLog{}
	c, err := azblobcrypt.NewContainer(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)),
		&azblobcrypt.ContainerOptions{ClientOptions: (*container.ClientOptions)(log.options())})
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
		// One GET from the range's start, to the blob's end: serve reads
		// through a blobcrypt.File, which keeps one range open from the
		// offset on, and stops reading (closing it) at the range's end.
		require.Equal(t, []string{"GET bytes=" + strconv.Itoa(rng[0]) + "-" + strconv.Itoa(len(want)-1)}, log.take())
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
