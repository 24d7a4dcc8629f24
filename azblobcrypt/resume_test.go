package azblobcrypt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// stageCounter is a per-try policy counting the blocks storage accepted
// (Put Block answered 201), and calling cancel after the first `after`.
type stageCounter struct {
	n      atomic.Int64
	after  int64
	cancel context.CancelFunc
}

func (c *stageCounter) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	r := req.Raw()
	if err == nil && r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block" && resp.StatusCode == http.StatusCreated {
		if c.n.Add(1) == c.after && c.cancel != nil {
			c.cancel()
		}
	}
	return resp, err
}

// TestContainerResumesStagedBlocks interrupts a restore of a blob of 41
// blocks once ten are staged, and runs it again: the second run stages only
// the blocks storage does not hold yet, and the blob is byte-identical. A
// first run with the wrong IV, or with another block size, leaves blocks
// that are never committed in place of the right ones.
func TestContainerResumesStagedBlocks(t *testing.T) {
	const blocks = 41
	a, g := generatedAsset(t, "data.bin", (blocks-1)*testBlockSize+1000) // .bin: no format, so a wrong IV passes the head check
	var doc map[string]any
	require.NoError(t, json.Unmarshal(g.Keys, &doc))
	meta := doc["assetFileEncryptionMetadata"].([]any)[0].(map[string]any)
	iv, err := strconv.ParseUint(meta["initializationVector"].(string), 10, 64)
	require.NoError(t, err)
	meta["initializationVector"] = strconv.FormatUint(iv+1, 10)
	wrongDoc, err := json.Marshal(doc)
	require.NoError(t, err)
	wrongIV, err := keyexport.NewPlan([]keyexport.Document{{Name: "wrong-iv.json", Data: wrongDoc}}, nil)
	require.NoError(t, err)

	for _, tc := range []struct {
		name       string
		first      *keyexport.Plan
		firstBlock int64
		reused     bool
	}{
		{"same", a.plan, testBlockSize, true},
		{"wrong IV first", wrongIV, testBlockSize, false},
		{"other block size first", a.plan, testBlockSize / 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := openContainer(t, a.srcSAS, containerOptions(0))
			dst := azuritetest.NewContainer(t)
			dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
			w := azuritetest.WatchDest(t, dstSAS, a.want)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			first := &stageCounter{after: 10, cancel: cancel}
			o := containerOptions(0, first)
			o.BlockSize = tc.firstBlock
			_, err := restore.Run(ctx, openContainer(t, dstSAS, o), in, tc.first, &restore.RunOptions{ChunkSize: 48 << 10})
			require.ErrorIs(t, err, context.Canceled)
			blobURL := azuritetest.BlobURL(dstSAS, a.name)
			resp, err := http.Head(blobURL)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "an interrupted restore committed its blob")
			staged := len(uncommitted(t, blobURL))
			require.GreaterOrEqual(t, staged, 10)
			require.Less(t, staged, blocks)

			again := &stageCounter{}
			r, err := restore.Run(testCtx(t), openContainer(t, dstSAS, containerOptions(0, again)), in, a.plan, nil)
			require.NoError(t, err)
			require.Equal(t, map[restore.Status]int{restore.StatusRestored: 1}, r.Summary)
			want := int64(blocks)
			if tc.reused {
				want -= int64(staged)
			}
			t.Logf("first run staged %d blocks; the second staged %d of %d", staged, again.n.Load(), blocks)
			require.Equal(t, want, again.n.Load())
			w.Finish()

			// Run after success: nothing is transferred again.
			last := &stageCounter{}
			r, err = restore.Run(testCtx(t), openContainer(t, dstSAS, containerOptions(0, last)), in, a.plan, nil)
			require.NoError(t, err)
			require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 1}, r.Summary)
			require.Zero(t, last.n.Load())
		})
	}
}
