package restore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzCheckHead(f *testing.F) {
	f.Add("iso-bmff", box(24, "ftyp"), int64(24))
	f.Add("iso-bmff", binary8(1, "mdat", 1<<40), int64(-1))
	f.Add("mpeg-ts", ts(376), int64(376))
	f.Add("xml", []byte("\xEF\xBB\xBF <a/>"), int64(-1))
	f.Add("webvtt", []byte("WEBVTT"), int64(6))
	f.Add("json", []byte("[]"), int64(2))
	f.Add("jpeg", []byte{0xFF, 0xD8, 0xFF}, int64(3))
	f.Add("png", []byte("\x89PNG\r\n\x1a\n"), int64(8))
	f.Add("", []byte{}, int64(0))
	f.Fuzz(func(t *testing.T, format string, head []byte, size int64) {
		err := CheckHead(Format(format), head, size)
		if err != nil && errors.Is(err, ErrHeadMismatch) {
			require.Contains(t, err.Error(), format)
		}
		if Format(format) == FormatUnknown {
			require.NoError(t, err)
		}
	})
}

func binary8(size uint32, typ string, large uint64) []byte {
	b := box(size, typ)
	for i := 7; i >= 0; i-- {
		b = append(b, byte(large>>(8*i)))
	}
	return b
}
