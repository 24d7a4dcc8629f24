//go:build unix

package blobcrypt

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEncryptDecryptFileSourceFIFO: a FIFO that nobody writes is refused as
// not a regular file at once, not waited on in open(2) until a signal.
func TestEncryptDecryptFileSourceFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	key := testKey(t)
	for name, run := range map[string]func() error{
		"encrypt": func() error {
			_, err := EncryptFile(context.Background(), filepath.Join(dir, "enc"), fifo, key, nil)
			return err
		},
		"decrypt": func() error {
			_, err := DecryptFile(context.Background(), filepath.Join(dir, "dec"), fifo, key, 1, nil)
			return err
		},
	} {
		done := make(chan error, 1)
		go func() { done <- run() }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, ErrNotRegular, name)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still blocked opening a FIFO nobody writes", name)
		}
	}
	require.ElementsMatch(t, []string{"fifo"}, dirNames(t, dir))
}
