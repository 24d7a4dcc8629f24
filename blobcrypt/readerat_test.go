package blobcrypt

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReaderAtRandom(t *testing.T) {
	key := testKey(t)
	const iv = 397304628502661816
	pt := plaintext(100003)
	ct := encryptAll(t, key, iv, pt, 0)
	ra, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), key, iv)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		off := rng.IntN(len(pt) + 1)
		n := rng.IntN(min(5000, len(pt)-off) + 1)
		p := make([]byte, n)
		m, err := ra.ReadAt(p, int64(off))
		require.NoError(t, err)
		require.Equal(t, n, m)
		require.True(t, bytes.Equal(pt[off:off+n], p), "ReadAt(%d, %d)", n, off)
	}

	// Past the end: the bytes that exist, decrypted, and io.EOF.
	p := make([]byte, 100)
	m, err := ra.ReadAt(p, int64(len(pt)-10))
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 10, m)
	require.Equal(t, pt[len(pt)-10:], p[:10])

	_, err = ra.ReadAt(p, -1)
	require.ErrorIs(t, err, ErrNegativeOffset)
}

func TestReaderAtSection(t *testing.T) {
	key := testKey(t)
	const iv = 1<<64 - 1
	pt := plaintext(50000)
	ct := encryptAll(t, key, iv, pt, 0)
	ra, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), key, iv)
	require.NoError(t, err)
	for _, r := range []struct{ off, n int64 }{{0, 50000}, {1, 17}, {4095, 8193}, {49999, 1}, {12345, 0}} {
		sec := io.NewSectionReader(ra, r.off, r.n)
		got, err := io.ReadAll(smallPieces(sec))
		require.NoError(t, err)
		require.Equal(t, pt[r.off:r.off+r.n], got)
	}
}

// smallPieces reads in small pieces so that SectionReader's offsets move.
func smallPieces(r io.Reader) io.Reader { return &smallReader{r} }

type smallReader struct{ r io.Reader }

func (s *smallReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 333)]) }

// countingOpener counts the ranges opened and can cut every range short.
type countingOpener struct {
	ct     []byte
	opened int
	short  int64 // if > 0, every range ends after this many bytes
}

func (c *countingOpener) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	c.opened++
	if c.short > 0 {
		n = min(n, c.short)
	}
	return io.NopCloser(bytes.NewReader(c.ct[off : off+n])), nil
}

func TestFileReadSeek(t *testing.T) {
	key := testKey(t)
	const iv = 397304628502661816
	pt := plaintext(70001)
	o := &countingOpener{ct: encryptAll(t, key, iv, pt, 0)}
	f, err := Open(t.Context(), o, int64(len(pt)), key, iv)
	require.NoError(t, err)
	require.Zero(t, o.opened, "Open opens nothing")

	got, err := io.ReadAll(smallPieces(f))
	require.NoError(t, err)
	require.Equal(t, pt, got)
	require.Equal(t, 1, o.opened, "a sequential read is one range")

	// http.ServeContent's pattern: size by SeekEnd, then a range.
	size, err := f.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	require.Equal(t, int64(len(pt)), size)
	_, err = f.Seek(4099, io.SeekStart)
	require.NoError(t, err)
	p := make([]byte, 1000)
	_, err = io.ReadFull(f, p)
	require.NoError(t, err)
	require.Equal(t, pt[4099:5099], p)
	_, err = io.ReadFull(f, p) // continues the open range
	require.NoError(t, err)
	require.Equal(t, pt[5099:6099], p)
	require.Equal(t, 2, o.opened)
	_, err = f.Seek(-10, io.SeekCurrent)
	require.NoError(t, err)
	_, err = io.ReadFull(f, p[:10])
	require.NoError(t, err)
	require.Equal(t, pt[6089:6099], p[:10])
	require.Equal(t, 3, o.opened, "a seek elsewhere opens a new range")
	require.NoError(t, f.Close())

	_, err = f.Seek(-1, io.SeekStart)
	require.ErrorIs(t, err, ErrNegativeOffset)
	_, err = f.Seek(0, 7)
	require.Error(t, err)
	n, err := f.Seek(int64(len(pt))+5, io.SeekStart)
	require.NoError(t, err, "seeking past the end is allowed, as for os.File")
	require.Equal(t, int64(len(pt))+5, n)
	_, err = f.Read(p)
	require.ErrorIs(t, err, io.EOF)
}

func TestFileShortSource(t *testing.T) {
	key := testKey(t)
	pt := plaintext(5000)
	o := &countingOpener{ct: encryptAll(t, key, 1, pt, 0), short: 100}
	f, err := Open(t.Context(), o, int64(len(pt)), key, 1)
	require.NoError(t, err)
	_, err = io.ReadAll(f)
	require.ErrorContains(t, err, "ended at 100")
	_, err = f.ReadAt(make([]byte, 300), 10)
	require.ErrorContains(t, err, "ended at 110")
	require.NotErrorIs(t, err, io.EOF, "a short source is not the end of the file")
}
