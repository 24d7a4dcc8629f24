package keyexport

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bigV3 returns a v3 getEncryptionKey answer listing n files, laid out as
// the service wrote it, about 160 bytes a file.
func bigV3(f fixture, n int) []byte {
	var b bytes.Buffer
	b.Grow(n*180 + 100)
	fmt.Fprintf(&b, "{\n  \"key\": %q,\n  \"assetFileEncryptionMetadata\": [", f.b64())
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    {\n      \"initializationVector\": \"%d\",\n      \"assetFileName\": \"segment_%07d.mp4\",\n"+
			"      \"assetFileId\": \"%08x-24fb-4fdb-9d7c-b04c7ee573a1\"\n    }", uint64(i)*0x9e3779b97f4a7c15, i, i)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

func TestLargeExport(t *testing.T) {
	f := newFixture(t)
	data := bigV3(f, 9003)
	require.Greater(t, len(data), 1<<20, "bigger than the old bound")
	p, err := NewPlan([]Document{doc("v3.json", data)}, nil)
	require.NoError(t, err)
	require.Len(t, p.Entries, 9003)
	require.Equal(t, "segment_0009002.mp4", p.Entries[9002].Name)
	last := uint64(9002)
	require.Equal(t, strconv.FormatUint(last*0x9e3779b97f4a7c15, 10), p.Entries[9002].IV.String())

	_, err = NewPlan([]Document{doc("huge.json", make([]byte, MaxDocumentSize+1))}, nil)
	require.ErrorIs(t, err, ErrInvalidDocument)
	require.ErrorContains(t, err, `"huge.json": 268435457 bytes, larger than the 268435456 bytes (256 MiB) a key export can be`)
}

// TestLargeExportHeap measures the peak heap of reading a v3 export of
// AMSCRYPT_EXPORT_MB megabytes (skipped when unset), so that the figure in
// the README can be checked: go test -run LargeExportHeap -v ./keyexport.
func TestLargeExportHeap(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("AMSCRYPT_EXPORT_MB"))
	if mb <= 0 {
		t.Skip("set AMSCRYPT_EXPORT_MB")
	}
	f := newFixture(t)
	data := bigV3(f, mb<<20/160)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	p, err := NewPlan([]Document{doc("v3.json", data)}, nil)
	close(done)
	require.NoError(t, err)
	t.Logf("export %.1f MiB, %d files, %v; heap before %.1f MiB (the export itself), peak %.1f MiB",
		float64(len(data))/(1<<20), len(p.Entries), time.Since(start).Round(time.Millisecond),
		float64(base.HeapAlloc)/(1<<20), float64(peak.Load())/(1<<20))
}
