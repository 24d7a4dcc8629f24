//go:build unix

package restore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/restore"
)

// TestRestoreSourceReplacedByFIFO: a source file replaced by a FIFO after
// the listing fails that file at once instead of blocking the open.
func TestRestoreSourceReplacedByFIFO(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.bin"), make([]byte, 100), 0o600))
	src := restore.Dir{Root: dir}
	files, err := src.List(context.Background())
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "a.bin")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "a.bin"), 0o600))
	done := make(chan error, 1)
	go func() {
		_, c, err := src.Open(context.Background(), files[0])
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "changed during the run")
	case <-time.After(5 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}
