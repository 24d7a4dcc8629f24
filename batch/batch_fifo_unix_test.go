//go:build unix

package batch_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/batch"
)

// TestRunFIFONobodyWrites: a batch file that is a FIFO with no writer
// does not hang the command in open(2).
func TestRunFIFONobodyWrites(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "batch.jsonl")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan int, 1)
	go func() {
		var seen []batch.Line
		n, _ := batch.Run(context.Background(), fifo, openDirs(&seen),
			func(*batch.Report) error { return nil }, nil)
		done <- n
	}()
	select {
	case n := <-done:
		require.Zero(t, n)
	case <-time.After(5 * time.Second):
		t.Fatal("Run still blocked opening a FIFO nobody writes")
	}
}
