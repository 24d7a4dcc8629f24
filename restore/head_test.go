package restore

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name     string
		fragment bool
		want     Format
	}{
		{"a.mp4", false, FormatISOBMFF}, {"A.MP4", false, FormatISOBMFF}, {"x.m4v", false, FormatISOBMFF},
		{"x.m4a", false, FormatISOBMFF}, {"x.mov", false, FormatISOBMFF}, {"x.3gp", false, FormatISOBMFF},
		{"x_1.ismv", false, FormatISOBMFF}, {"x.isma", false, FormatISOBMFF}, {"x.cmfv", false, FormatISOBMFF},
		{"x.cmfa", false, FormatISOBMFF},
		{"video/header", true, FormatISOBMFF}, {"video/123.json", true, FormatISOBMFF},
		{"seg.ts", false, FormatMPEGTS},
		{"a.ism", false, FormatXML}, {"a.ismc", false, FormatXML}, {"a.XML", false, FormatXML}, {"a.ttml", false, FormatXML},
		{"a.vtt", false, FormatWebVTT}, {"a.json", false, FormatJSON},
		{"a.jpg", false, FormatJPEG}, {"a.JPEG", false, FormatJPEG}, {"a.png", false, FormatPNG},
		{"a.txt", false, FormatUnknown}, {"mp4", false, FormatUnknown}, {"video/header", false, FormatUnknown},
		{"dir.mp4/file", false, FormatUnknown}, {"", false, FormatUnknown},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatOf(tt.name, tt.fragment), "%q fragment=%v", tt.name, tt.fragment)
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

// headOf returns the first HeadSize bytes of b, as the executor would.
func headOf(b []byte) []byte { return b[:min(len(b), HeadSize)] }

func TestHeadSize(t *testing.T) {
	require.GreaterOrEqual(t, HeadSize, 189)
}

func TestCheckHead(t *testing.T) {
	large := append(binary.BigEndian.AppendUint64(box(1, "mdat"), 1<<40), make([]byte, 300)...)
	tests := []struct {
		name string
		f    Format
		file []byte
		size int64 // 0 means len(file); -2 means unknown (-1)
		ok   bool
		msg  string
	}{
		{"ftyp", FormatISOBMFF, append(box(24, "ftyp"), make([]byte, 100)...), 0, true, ""},
		{"styp fragment", FormatISOBMFF, append(box(24, "styp"), make([]byte, 16)...), 0, true, ""},
		{"moof", FormatISOBMFF, append(box(16, "moof"), make([]byte, 8)...), 0, true, ""},
		{"box to end of file", FormatISOBMFF, box(0, "mdat", 1, 2, 3), 0, true, ""},
		{"largesize", FormatISOBMFF, large, 1 << 41, true, ""},
		{"largesize, size unknown", FormatISOBMFF, large, -2, true, ""},
		{"box as large as the file", FormatISOBMFF, box(8, "free"), 0, true, ""},
		{"size unknown", FormatISOBMFF, box(1<<30, "moov"), -2, true, ""},
		{"largesize beyond file", FormatISOBMFF, large, 1 << 20, false, "64-bit size"},
		{"largesize under 16", FormatISOBMFF, binary.BigEndian.AppendUint64(box(1, "mdat"), 15), -2, false, "under 16"},
		{"largesize cut short", FormatISOBMFF, box(1, "mdat", 0, 0), 0, false, "64-bit size"},
		{"box size 7", FormatISOBMFF, box(7, "ftyp", 0, 0, 0, 0), 0, false, "size 7 is under 8"},
		{"box beyond file", FormatISOBMFF, box(4096, "ftyp", make([]byte, 100)...), 0, false, "larger than the 108-byte file"},
		{"wrong box type", FormatISOBMFF, box(24, "fty\x00", make([]byte, 16)...), 0, false, `"fty\x00"`},
		{"random bytes", FormatISOBMFF, []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05}, 0, false, "de ad be ef 01 02 03 04 (wrong key or IV?)"},
		{"too short", FormatISOBMFF, []byte("ftyp"), 0, false, "too short"},
		{"empty mp4", FormatISOBMFF, nil, 0, false, "empty"},

		{"one packet", FormatMPEGTS, ts(188), 0, true, ""},
		{"many packets", FormatMPEGTS, ts(188 * 10), 0, true, ""},
		{"no sync", FormatMPEGTS, append([]byte{0x46}, ts(400)[1:]...), 0, false, "offset 0"},
		{"no second sync", FormatMPEGTS, append(ts(188), 0x48), 0, false, "offset 188, found 0x48"},
		{"empty ts", FormatMPEGTS, []byte{}, 0, false, "empty"},

		{"xml", FormatXML, []byte(`<?xml version="1.0"?><smil/>`), 0, true, ""},
		{"xml with BOM and space", FormatXML, []byte("\xEF\xBB\xBF \r\n\t<smil/>"), 0, true, ""},
		{"xml garbage", FormatXML, []byte("x<smil/>"), 0, false, "no '<'"},
		{"xml only space", FormatXML, []byte("   "), 0, false, "no '<'"},
		{"xml two BOMs", FormatXML, []byte("\xEF\xBB\xBF\xEF\xBB\xBF<a/>"), 0, false, "ef bb bf ef bb bf 3c 61"},

		{"webvtt", FormatWebVTT, []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n"), 0, true, ""},
		{"webvtt title", FormatWebVTT, []byte("\xEF\xBB\xBFWEBVTT - title\r\n"), 0, true, ""},
		{"webvtt tab", FormatWebVTT, []byte("WEBVTT\tx"), 0, true, ""},
		{"webvtt alone", FormatWebVTT, []byte("WEBVTT"), 0, true, ""},
		{"webvtt alone, size unknown", FormatWebVTT, []byte("WEBVTT"), -2, true, ""},
		{"webvtt glued", FormatWebVTT, []byte("WEBVTTX\n"), 0, false, "not followed"},
		{"webvtt lowercase", FormatWebVTT, []byte("webvtt\n"), 0, false, `no "WEBVTT"`},

		{"json object", FormatJSON, []byte(`{"a":1}`), 0, true, ""},
		{"json array with BOM", FormatJSON, []byte("\xEF\xBB\xBF\n ["), 0, true, ""},
		{"json string", FormatJSON, []byte(`"a"`), 0, false, "'{' or '['"},

		{"jpeg", FormatJPEG, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}, 0, true, ""},
		{"jpeg bad", FormatJPEG, []byte{0xFF, 0xD8, 0x00}, 0, false, "ff d8 00"},
		{"png", FormatPNG, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 0, true, ""},
		{"png bad", FormatPNG, []byte("\x89PNG\r\n\x1a"), 0, false, "no PNG signature"},

		{"unknown format passes", FormatUnknown, []byte{1, 2, 3}, 0, true, ""},
		{"unknown format, empty", FormatUnknown, nil, 0, true, ""},
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
			err := CheckHead(tt.f, head, size)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrHeadMismatch)
			require.Contains(t, err.Error(), tt.msg)
			require.Contains(t, err.Error(), string(tt.f))
			if len(head) > 0 {
				require.Contains(t, err.Error(), "wrong key or IV?")
			}
		})
	}
}

func TestCheckHeadCallerErrors(t *testing.T) {
	err := CheckHead(FormatMPEGTS, ts(100), 400)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NotErrorIs(t, err, ErrHeadMismatch)
	require.Contains(t, err.Error(), "give the first 189")

	err = CheckHead(FormatJPEG, []byte{0xFF, 0xD8, 0xFF}, 2)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NotErrorIs(t, err, ErrHeadMismatch)

	err = CheckHead(Format("gif"), []byte("GIF89a"), 6)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NotErrorIs(t, err, ErrHeadMismatch)

	// A longer head than HeadSize is fine: only the start counts.
	require.NoError(t, CheckHead(FormatMPEGTS, ts(188*4), 188*4))
	require.True(t, bytes.Equal(headOf(ts(1000)), ts(1000)[:HeadSize]))
}
