package blobcrypt

import (
	"bytes"
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
	ra, err := NewReaderAt(bytes.NewReader(ct), key, iv)
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
	ra, err := NewReaderAt(bytes.NewReader(ct), key, iv)
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
