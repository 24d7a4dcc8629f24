package media_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/media"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name     string
		fragment bool
		want     media.Format
	}{
		{"a.mp4", false, media.FormatISOBMFF}, {"A.MP4", false, media.FormatISOBMFF}, {"x.m4v", false, media.FormatISOBMFF},
		{"x.m4a", false, media.FormatISOBMFF}, {"x.mov", false, media.FormatISOBMFF}, {"x.3gp", false, media.FormatISOBMFF},
		{"x_1.ismv", false, media.FormatISOBMFF}, {"x.isma", false, media.FormatISOBMFF}, {"x.cmfv", false, media.FormatISOBMFF},
		{"x.cmfa", false, media.FormatISOBMFF},
		{"video/header", true, media.FormatISOBMFF}, {"video/123.json", true, media.FormatISOBMFF},
		{"seg.ts", false, media.FormatMPEGTS},
		{"a.ism", false, media.FormatXML}, {"a.ismc", false, media.FormatXML}, {"a.XML", false, media.FormatXML}, {"a.ttml", false, media.FormatXML},
		{"a.vtt", false, media.FormatWebVTT}, {"a.json", false, media.FormatJSON},
		{"a.jpg", false, media.FormatJPEG}, {"a.JPEG", false, media.FormatJPEG}, {"a.png", false, media.FormatPNG},
		{"a.txt", false, media.FormatUnknown}, {"mp4", false, media.FormatUnknown}, {"video/header", false, media.FormatUnknown},
		{"dir.mp4/file", false, media.FormatUnknown}, {"", false, media.FormatUnknown},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, media.FormatOf(tt.name, tt.fragment), "%q fragment=%v", tt.name, tt.fragment)
	}
}

func box(size uint32, typ string, rest ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, size)
	return append(append(b, typ...), rest...)
}

func ts(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 188 {
		b[i] = 0x47
	}
	return b
}

// headOf returns the first media.HeadSize bytes of b, as the executor would.
func headOf(b []byte) []byte { return b[:min(len(b), media.HeadSize)] }

func TestHeadSize(t *testing.T) {
	require.GreaterOrEqual(t, media.HeadSize, 189)
}

func TestCheckHead(t *testing.T) {
	large := append(binary.BigEndian.AppendUint64(box(1, "mdat"), 1<<40), make([]byte, 300)...)
	tests := []struct {
		name string
		f    media.Format
		file []byte
		size int64 // 0 means len(file); -2 means unknown (-1)
		ok   bool
		msg  string
	}{
		{"ftyp", media.FormatISOBMFF, append(box(24, "ftyp"), make([]byte, 100)...), 0, true, ""},
		{"styp fragment", media.FormatISOBMFF, append(box(24, "styp"), make([]byte, 16)...), 0, true, ""},
		{"moof", media.FormatISOBMFF, append(box(16, "moof"), make([]byte, 8)...), 0, true, ""},
		{"box to end of file", media.FormatISOBMFF, box(0, "mdat", 1, 2, 3), 0, true, ""},
		{"largesize", media.FormatISOBMFF, large, 1 << 41, true, ""},
		{"largesize, size unknown", media.FormatISOBMFF, large, -2, true, ""},
		{"box as large as the file", media.FormatISOBMFF, box(8, "free"), 0, true, ""},
		{"size unknown", media.FormatISOBMFF, box(1<<30, "moov"), -2, true, ""},
		{"largesize beyond file", media.FormatISOBMFF, large, 1 << 20, false, "64-bit size"},
		{"largesize under 16", media.FormatISOBMFF, binary.BigEndian.AppendUint64(box(1, "mdat"), 15), -2, false, "under 16"},
		{"largesize cut short", media.FormatISOBMFF, box(1, "mdat", 0, 0), 0, false, "64-bit size"},
		{"box size 7", media.FormatISOBMFF, box(7, "ftyp", 0, 0, 0, 0), 0, false, "size 7 is under 8"},
		{"box beyond file", media.FormatISOBMFF, box(4096, "ftyp", make([]byte, 100)...), 0, false, "larger than the 108-byte file"},
		{"wrong box type", media.FormatISOBMFF, box(24, "fty\x00", make([]byte, 16)...), 0, false, `"fty\x00"`},
		{"random bytes", media.FormatISOBMFF, []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05}, 0, false, "de ad be ef 01 02 03 04 (wrong key or IV?)"},
		{"too short", media.FormatISOBMFF, []byte("ftyp"), 0, false, "too short"},
		{"empty mp4", media.FormatISOBMFF, nil, 0, false, "empty"},

		{"one packet", media.FormatMPEGTS, ts(188), 0, true, ""},
		{"many packets", media.FormatMPEGTS, ts(188 * 10), 0, true, ""},
		{"no sync", media.FormatMPEGTS, append([]byte{0x46}, ts(400)[1:]...), 0, false, "offset 0"},
		{"no second sync", media.FormatMPEGTS, append(ts(188), 0x48), 0, false, "offset 188, found 0x48"},
		{"empty ts", media.FormatMPEGTS, []byte{}, 0, false, "empty"},

		{"xml", media.FormatXML, []byte(`<?xml version="1.0"?><smil/>`), 0, true, ""},
		{"xml with BOM and space", media.FormatXML, []byte("\xEF\xBB\xBF \r\n\t<smil/>"), 0, true, ""},
		{"xml garbage", media.FormatXML, []byte("x<smil/>"), 0, false, "no '<'"},
		{"xml only space", media.FormatXML, []byte("   "), 0, false, "no '<'"},
		{"xml two BOMs", media.FormatXML, []byte("\xEF\xBB\xBF\xEF\xBB\xBF<a/>"), 0, false, "ef bb bf ef bb bf 3c 61"},

		{"webvtt", media.FormatWebVTT, []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n"), 0, true, ""},
		{"webvtt title", media.FormatWebVTT, []byte("\xEF\xBB\xBFWEBVTT - title\r\n"), 0, true, ""},
		{"webvtt tab", media.FormatWebVTT, []byte("WEBVTT\tx"), 0, true, ""},
		{"webvtt alone", media.FormatWebVTT, []byte("WEBVTT"), 0, true, ""},
		{"webvtt alone, size unknown", media.FormatWebVTT, []byte("WEBVTT"), -2, true, ""},
		{"webvtt glued", media.FormatWebVTT, []byte("WEBVTTX\n"), 0, false, "not followed"},
		{"webvtt lowercase", media.FormatWebVTT, []byte("webvtt\n"), 0, false, `no "WEBVTT"`},

		{"json object", media.FormatJSON, []byte(`{"a":1}`), 0, true, ""},
		{"json array with BOM", media.FormatJSON, []byte("\xEF\xBB\xBF\n ["), 0, true, ""},
		{"json string", media.FormatJSON, []byte(`"a"`), 0, false, "'{' or '['"},

		{"jpeg", media.FormatJPEG, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}, 0, true, ""},
		{"jpeg bad", media.FormatJPEG, []byte{0xFF, 0xD8, 0x00}, 0, false, "ff d8 00"},
		{"png", media.FormatPNG, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 0, true, ""},
		{"png bad", media.FormatPNG, []byte("\x89PNG\r\n\x1a"), 0, false, "no PNG signature"},

		{"unknown format passes", media.FormatUnknown, []byte{1, 2, 3}, 0, true, ""},
		{"unknown format, empty", media.FormatUnknown, nil, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := int64(len(tt.file))
			switch tt.size {
			case -2:
				size = -1
			case 0:
			default:
				size = tt.size
			}
			head := headOf(tt.file)
			err := media.CheckHead(tt.f, head, size)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, media.ErrHeadMismatch)
			require.Contains(t, err.Error(), tt.msg)
			require.Contains(t, err.Error(), string(tt.f))
			if len(head) > 0 {
				require.Contains(t, err.Error(), "wrong key or IV?")
			}
		})
	}
}

func TestCheckHeadCallerErrors(t *testing.T) {
	err := media.CheckHead(media.FormatMPEGTS, ts(100), 400)
	require.ErrorContains(t, err, "media: ")
	require.NotErrorIs(t, err, media.ErrHeadMismatch)
	require.Contains(t, err.Error(), "give the first 189")

	err = media.CheckHead(media.FormatJPEG, []byte{0xFF, 0xD8, 0xFF}, 2)
	require.EqualError(t, err, "media: CheckHead: head is 3 bytes, longer than the 2-byte file")
	require.NotErrorIs(t, err, media.ErrHeadMismatch)

	err = media.CheckHead(media.Format("gif"), []byte("GIF89a"), 6)
	require.EqualError(t, err, `media: CheckHead: unknown format "gif"`)
	require.NotErrorIs(t, err, media.ErrHeadMismatch)

	// A longer head than media.HeadSize is fine: only the start counts.
	require.NoError(t, media.CheckHead(media.FormatMPEGTS, ts(188*4), 188*4))
	require.True(t, bytes.Equal(headOf(ts(1000)), ts(1000)[:media.HeadSize]))
}
