package media_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/media"
)

// zerosAfter is a sparse file: head, then zeros up to size.
type zerosAfter struct {
	head []byte
	size int64
}

func (z zerosAfter) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(z.head)) {
		copy(p, z.head[off:])
	}
	return len(p), nil
}

// TestMP4Header: the test helper's MP4s, which many tests restore, are whole
// by this package's rules, with 32- and 64-bit mdat sizes.
func TestMP4Header(t *testing.T) {
	for _, size := range []int64{200, 64 << 20, 1<<32 + 100, 5 << 30} {
		res, err := media.VerifyAt(zerosAfter{testvectors.MP4Header(size), size}, media.File{Name: "x.mp4", Size: size})
		require.NoError(t, err, size)
		require.Equal(t, media.LevelStructure, res.Level, size)
		_, err = media.VerifyAt(zerosAfter{testvectors.MP4Header(size), size}, media.File{Name: "x.mp4", Size: size - 1})
		require.ErrorIs(t, err, media.ErrStructure, size)
	}
}
