package smallfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	require.NoError(t, os.WriteFile(ok, make([]byte, Max), 0o600))
	b, err := Read(ok)
	require.NoError(t, err)
	require.Len(t, b, Max)

	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, Max+1), 0o600))
	_, err = Read(big)
	require.ErrorContains(t, err, "larger than")

	_, err = Read("/dev/zero")
	require.ErrorContains(t, err, "larger than")

	_, err = Read(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadFIFOWithoutWriterDoesNotBlock(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := Read(fifo)
		if err == nil && len(b) != 0 {
			err = fmt.Errorf("read %d bytes from an empty FIFO", len(b))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read of a FIFO without a writer blocked")
	}
}

func TestReadAtMost(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "export.json")
	require.NoError(t, os.WriteFile(p, make([]byte, 3*Max), 0o600))
	b, err := ReadAtMost(p, 3*Max, "why")
	require.NoError(t, err)
	require.Len(t, b, 3*Max)
	require.Less(t, cap(b), 3*Max+16<<10, "read into one buffer of the file's size, not grown by doubling")
	_, err = ReadAtMost(p, 3*Max-1, "a key export is never that large (256 MiB)")
	require.EqualError(t, err, p+": larger than 3145727 bytes; a key export is never that large (256 MiB)")
	_, err = ReadAtMost("/dev/zero", 10, "why")
	require.ErrorContains(t, err, "larger than 10 bytes; why")
}

// TestReadLine: the one line, trimmed; empty files and files of several
// lines are refused without their contents in the error.
func TestReadLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got, err := ReadLine(write("one", " https://x/c?sig=s \n")); err != nil || got != "https://x/c?sig=s" {
		t.Fatalf("ReadLine = %q, %v", got, err)
	}
	for name, data := range map[string]string{"empty": " \n", "two": "SECRET1\nSECRET2\n"} {
		_, err := ReadLine(write(name, data))
		if err == nil || !strings.Contains(err.Error(), "exactly one line") || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
