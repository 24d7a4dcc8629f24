package media_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/media"
)

func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, filepath.FromSlash(name)))
	require.NoError(t, err)
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// isoBox returns a box with a 32-bit size.
func isoBox(typ string, payload []byte) []byte {
	return cat(binary.BigEndian.AppendUint32(nil, uint32(8+len(payload))), []byte(typ), payload)
}

// largeBox returns a box with a 64-bit size.
func largeBox(typ string, payload []byte) []byte {
	h := binary.BigEndian.AppendUint32(nil, 1)
	h = append(h, typ...)
	h = binary.BigEndian.AppendUint64(h, uint64(16+len(payload)))
	return cat(h, payload)
}

// initParts splits a fixture's init segment into its ftyp and moov.
func initParts(t *testing.T) (ftyp, moov []byte) {
	h := fixtureBytes(t, "live/video/header")
	n := binary.BigEndian.Uint32(h)
	require.Equal(t, "ftyp", string(h[4:8]))
	require.Equal(t, "moov", string(h[n+4:n+8]))
	return h[:n], h[n:]
}

func TestISOBMFFChain(t *testing.T) {
	ftyp, moov := initParts(t)
	largeMoov := largeBox("moov", moov[8:])
	frag := fixtureBytes(t, "live/video/0")
	// styp and sidx, then moof and mdat.
	sn := binary.BigEndian.Uint32(frag)
	sn += binary.BigEndian.Uint32(frag[sn:])
	mn := binary.BigEndian.Uint32(frag[sn:])
	styp, moof, mdat := frag[:sn], frag[sn:sn+mn], frag[sn+mn:]
	require.Equal(t, "mdat", string(mdat[4:8]))
	to0 := func(b []byte) []byte { // the same box with size 0: to the end
		return cat([]byte{0, 0, 0, 0}, b[4:])
	}
	uuid := isoBox("uuid", bytes.Repeat([]byte{0xA5}, 16+10))
	tests := []struct {
		name string
		file string // header, fragment, or whole
		data []byte
		msg  string // "" for success
	}{
		{"init segment", "v/header", cat(ftyp, moov), ""},
		{"64-bit moov", "v/header", cat(ftyp, largeMoov), ""},
		{"uuid box", "v/header", cat(ftyp, moov, uuid), ""},
		{"64-bit free", "v/header", cat(ftyp, moov, largeBox("free", make([]byte, 100))), ""},
		{"size 0 to the end", "v/header", cat(ftyp, moov, to0(isoBox("free", make([]byte, 50)))), ""},
		{"moov of size 0, to the end", "v/header", cat(ftyp, to0(moov)), ""},
		{"64-bit size under 16", "v/header", cat(ftyp, moov, []byte{0, 0, 0, 1}, []byte("free"), make([]byte, 8)), "declares a 64-bit size of 0 bytes, impossible"},
		{"64-bit size cut off", "v/header", cat(ftyp, moov, []byte{0, 0, 0, 1}, []byte("free"), make([]byte, 4)), "has a 64-bit size cut off"},
		{"size under 8", "v/header", cat(ftyp, moov, []byte{0, 0, 0, 7}, []byte("free")), "declares 7 bytes, less than its 8-byte header"},
		{"three stray bytes", "v/header", cat(ftyp, moov, []byte{0, 0, 0}), "a box header at 771 is cut off: the file ends at 774, 3 bytes into it"},
		{"zero padding", "v/header", cat(ftyp, moov, make([]byte, 16)), `no box at 771: its type would be "\x00\x00\x00\x00"`},
		{"box past the end", "v/header", cat(ftyp, moov, isoBox("free", make([]byte, 100))[:50]), "free box at 771 declares 108 bytes, the file ends at 821"},
		{"two moovs", "v/header", cat(ftyp, moov, moov), "a second moov box at 771 (the first is at 28)"},
		{"header without moov", "v/header", cat(ftyp, isoBox("free", nil)), "a live-archive header with no moov box (top-level boxes: ftyp, free)"},
		{"header with media", "v/header", cat(ftyp, moov, moof, mdat), "a live-archive header holds a moof box at 771"},
		{"moov with a broken child chain", "v/header", cat(ftyp, isoBox("moov", cat(isoBox("mvhd", []byte{1, 2, 3}), []byte{0, 0, 0, 50, 't', 'r', 'a', 'k'}))),
			"moov box at 28 does not decode: its child trak box at 47 declares 50 bytes, past its end at 55"},
		{"moov with a stray byte after its children", "v/header", cat(ftyp, isoBox("moov", cat(isoBox("mvhd", []byte{1, 2, 3}), []byte{0}))),
			"moov box at 28 does not decode: 1 stray bytes at 47 after its last child box"},

		{"fragment", "v/0", cat(styp, moof, mdat), ""},
		{"fragment without styp", "v/0", cat(moof, mdat), ""},
		{"two fragments", "v/0", cat(moof, mdat, moof, mdat), ""},
		{"fragment without mdat", "v/0", cat(styp, moof), "the moof box at 76 has no mdat after it: the file ends at 200"},
		{"moof then free", "v/0", cat(styp, moof, isoBox("free", nil), mdat), "free box at 200 follows the moof box at 76, which must be followed by its mdat"},
		{"mdat too small for its moof", "v/0", cat(styp, moof, isoBox("mdat", mdat[8:len(mdat)-100])), "outside the payload 208-7040 of its mdat at 200"},
		{"fragment without moof", "v/0", cat(styp, isoBox("free", nil)), "a live-archive fragment with no moof box"},
		{"fragment with moov", "v/0", cat(styp, moov, moof, mdat), "a live-archive fragment holds a moov box at 76"},

		{"whole file: init only", "a.mp4", cat(ftyp, moov), "announces fragments (mvex) but no moof box follows"},
		{"whole file: init and fragments", "a.mp4", cat(ftyp, moov, moof, mdat), ""},
		{"whole file: no moov", "a.mp4", cat(ftyp, isoBox("mdat", make([]byte, 300))), "no moov box (top-level boxes: ftyp, mdat)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := media.File{Name: tt.file, Fragment: tt.file != "a.mp4", Size: int64(len(tt.data))}
			res, err := both(t, f, tt.data)
			if tt.msg == "" {
				require.NoError(t, err)
				require.Equal(t, media.LevelStructure, res.Level)
				require.Empty(t, res.Note)
				return
			}
			require.ErrorIs(t, err, media.ErrStructure)
			require.Contains(t, err.Error(), tt.msg)
			require.True(t, strings.HasPrefix(err.Error(), "media: "), err.Error())
		})
	}
}

// TestUndecodedMoov checks that a moov mp4ff cannot read, but whose child
// boxes form a whole chain, passes with a Note saying what was not checked.
func TestUndecodedMoov(t *testing.T) {
	ftyp, _ := initParts(t)
	data := cat(ftyp, isoBox("moov", isoBox("mvhd", []byte{1, 2, 3})))
	res, err := both(t, media.File{Name: "v/header", Fragment: true, Size: int64(len(data))}, data)
	require.NoError(t, err)
	require.Equal(t, media.LevelStructure, res.Level)
	require.Contains(t, res.Note, "the moov box at 28 holds whole child boxes that mp4ff does not read")
}

// TestProgressiveSamplesOutsideMdat moves the mdat of a faststart file: the
// chain still holds, but the chunk offsets in moov no longer point into it.
func TestProgressiveSamplesOutsideMdat(t *testing.T) {
	data := fixtureBytes(t, "progressive-faststart.mp4")
	offs, types := topBoxes(t, data)
	require.Equal(t, []string{"ftyp", "moov", "free", "mdat"}, types)
	// Swap free (8 bytes) with a bigger free box: the mdat moves by 100.
	moved := cat(data[:offs[2]], isoBox("free", make([]byte, 100)), data[offs[3]:])
	_, err := both(t, media.File{Name: "a.mp4", Size: int64(len(moved))}, moved)
	require.ErrorIs(t, err, media.ErrStructure)
	require.Contains(t, err.Error(), "lies outside every mdat box")
}

// TestSparseTerabyte checks that random access costs the structure, not the
// size: a 1 TiB MP4 of three boxes (ftyp, mdat, moov) is three reads.
func TestSparseTerabyte(t *testing.T) {
	const size = 1 << 40
	path := filepath.Join(t.TempDir(), "big.mp4")
	moovSize := writeSparseMP4(t, path, size)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	res, err := media.VerifyAt(f, media.File{Name: "big.mp4", Size: size})
	require.NoError(t, err)
	require.Equal(t, media.LevelStructure, res.Level)
	require.Equal(t, 3, res.Reads, "head, moov header, moov")
	require.Equal(t, int64(media.HeadSize)+moovSize, res.Read)

	// Cut it by one byte: the moov no longer fits.
	require.NoError(t, os.Truncate(path, size-1))
	_, err = media.VerifyAt(f, media.File{Name: "big.mp4", Size: size - 1})
	require.ErrorIs(t, err, media.ErrStructure)
	require.EqualError(t, err, fmt.Sprintf("media: moov box at %d declares %d bytes, the file ends at %d", size-moovSize, moovSize, size-1))
}

// writeSparseMP4 writes a sparse file of size bytes: the ftyp of the
// fixture with moov at the end, one mdat with a 64-bit size filling the
// middle, the fixture's moov at the end (its chunk offsets point into the
// mdat's first bytes, zeros here). It returns the moov's size.
func writeSparseMP4(t testing.TB, path string, size int64) int64 {
	t.Helper()
	data := fixtureBytes(t, "progressive-moov-end.mp4")
	ftypN := binary.BigEndian.Uint32(data)
	moovAt := bytes.LastIndex(data, []byte("moov")) - 4
	moov := data[moovAt:]
	require.Equal(t, len(moov), int(binary.BigEndian.Uint32(moov)))
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size))
	hdr := binary.BigEndian.AppendUint32(nil, 1)
	hdr = append(hdr, "mdat"...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(size-int64(ftypN)-int64(len(moov))))
	_, err = f.WriteAt(cat(data[:ftypN], hdr), 0)
	require.NoError(t, err)
	_, err = f.WriteAt(moov, size-int64(len(moov)))
	require.NoError(t, err)
	return int64(len(moov))
}

func TestMPEGTS(t *testing.T) {
	ts := fixtureBytes(t, "stream.ts")
	bad := bytes.Clone(ts)
	bad[188*40] = 0x48
	_, err := media.VerifyAt(bytes.NewReader(bad), media.File{Name: "s.ts", Size: int64(len(bad))})
	// 40 is neither among the first or last 16 packets nor a sampled one.
	require.NoError(t, err, "random access samples packets")
	_, err = stream(t, media.File{Name: "s.ts", Size: int64(len(bad))}, bad, 1)
	require.ErrorIs(t, err, media.ErrStructure)
	require.EqualError(t, err, "media: MPEG-TS packet at 7520 has no sync byte 0x47 (found 0x48)")

	bad = bytes.Clone(ts)
	bad[len(bad)-188] = 0
	_, err = both(t, media.File{Name: "s.ts", Size: int64(len(bad))}, bad)
	require.EqualError(t, err, "media: MPEG-TS packet at 23876 has no sync byte 0x47 (found 0x00)")
}

func TestImages(t *testing.T) {
	png := fixtureBytes(t, "still.png")
	jpg := fixtureBytes(t, "still.jpg")
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"a.png", cat(png, []byte{0}), "PNG's IEND chunk at 2224 ends at 2236, but the file goes on past it"},
		{"a.png", png[:len(png)-12], "PNG's chunk chain ends at 2224 without an IEND chunk"},
		{"a.png", cat(png[:33], png[len(png)-12:]), ""}, // IHDR, IEND: structurally whole
		{"a.png", cat(png[:8], png[33:]), "PNG's first chunk is"},
		{"a.png", cat(png[:33], []byte{0, 0, 0, 0, 'I', 'D', '4', 'T'}), "no PNG chunk at 33"},
		{"a.jpg", cat(jpg, []byte{0}), "JPEG does not end with the EOI marker FF D9: its last bytes are d9 00"},
		{"a.jpg", jpg[:len(jpg)-1], "JPEG does not end with the EOI marker FF D9"},
		{"a.jpg", cat(jpg[:2], []byte{0xFF, 0xFF, 0xFF}, jpg[2:]), ""}, // fill bytes before a marker
		{"a.jpg", cat(jpg[:2], []byte{0xFF, 0xD9}), "JPEG's EOI marker at 2 comes before any scan (SOS)"},
		{"a.jpg", cat(jpg[:2], []byte{0xFF, 0xE0, 0x00, 0x04, 0, 0, 0x00, 0xD9}), "no JPEG marker at 8 (found 0x00)"},
		{"a.jpg", cat(jpg[:2], []byte{0xFF, 0xE0, 0x40, 0x00, 1, 2, 3}), "JPEG APP0 segment at 2 declares 16386 bytes, the file ends at 9"},
	}
	for _, tt := range tests {
		res, err := both(t, media.File{Name: tt.name, Size: int64(len(tt.data))}, tt.data)
		if tt.msg == "" {
			require.NoError(t, err)
			require.Equal(t, media.LevelStructure, res.Level)
			continue
		}
		require.ErrorIs(t, err, media.ErrStructure)
		require.Contains(t, err.Error(), tt.msg)
	}
}

func TestText(t *testing.T) {
	long := strings.Repeat("secret ", 100)
	tests := []struct {
		name string
		data string
		msg  string
	}{
		{"a.xml", "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c --><!DOCTYPE smil><smil><a x='1'/>t</smil>\n<!-- after --><?pi x?>\n", ""},
		{"a.ismc", `<?xml version="1.0" encoding="ISO-8859-1"?><a>caf` + "\xe9" + `</a>`, ""},
		{"a.ism", `<?xml version="1.0" encoding="utf-16"?><a/>`, "encoding \\\"utf-16\\\" is not supported"},
		{"a.xml", "<a><b></a>", "element <b> opened at line 1 is closed by </a>"},
		{"a.xml", "<a></a><b/>", "a second root element <b> after the root element closed at line 1"},
		{"a.xml", "<a></a>x", `text after the root element closed at line 1 "x"`},
		{"a.xml", "<a></a>" + long, `text after the root element closed at line 1 "secret secret`},
		{"a.xml", "<a>\n<b>", "XML element <b> opened at line 2 is not closed: the file ends at 7"},
		{"a.xml", "<a></a><!DOCTYPE a>", "a <!\"DOCTYPE\"> declaration after the root element"},
		{"a.xml", "<a><b x=\"1></b></a>", "unescaped < inside quoted string"},
		{"a.xml", "<a>\n<b x=\"1", "XML ends inside a tag or token at line 2: the file ends at 11"},
		{"a.xml", "<a>&nope;</a>", "invalid character entity &nope;"},
		{"a.xml", "<?xml version=\"1.0\"?>\n<!-- only a comment -->", "XML has no root element"},

		{"a.json", "\xEF\xBB\xBF {\"a\": [1, 2e400, \"x\"]}\n", ""},
		{"a.json", `{"a": 1} {"b": 2}`, "JSON goes on after its value"},
		{"a.json", `{"a": [1, 2}`, "JSON at 11"},
		{"a.json", `{"a": [1, 2`, "JSON ends inside the array opened at 6: the file ends at 11"},
		{"a.json", `{"a": "abc`, "JSON ends inside"},
		{"a.json", `[1, 2] x`, "invalid character 'x' looking for beginning of value"},

		{"a.vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n\nid\n01:00:00.000 --> 01:00:01.500 align:start\nthere\n", ""},
		{"a.vtt", "\xEF\xBB\xBFWEBVTT - title\r\nKind: captions\r\n\r\nNOTE a note\r\nmore note\r\n\r\nSTYLE\r\n::cue {}\r\n\r\n1\r\n00:00:00.000 --> 00:00:01.000\r\nx\r\n", ""},
		{"a.vtt", "WEBVTT\n00:00.000 --> 00:01.000\nhi\n", "a cue timing line in the header"},
		{"a.vtt", "WEBVTT\n\n00:00.000 --> 00:01.0\nhi\n", `WebVTT line 3 (offset 8): cue timing "00:00.000 --> 00:01.0" is not`},
		{"a.vtt", "WEBVTT\n\n00:60.000 --> 00:61.000\n", "is not \"[hh:]mm:ss.ttt"},
		{"a.vtt", "WEBVTT\n\nid\nhello\n", "the cue identifier on line 3 is not followed by a timing line"},
		{"a.vtt", "WEBVTT\n\nid", "the cue identifier on line 3 is not followed by a timing line: the file ends at 10"},
		{"a.vtt", "WEBVTTX\n", "media: decrypted head"},
	}
	for _, tt := range tests {
		data := []byte(tt.data)
		res, err := both(t, media.File{Name: tt.name, Size: int64(len(data))}, data)
		if tt.msg == "" {
			require.NoError(t, err, tt.data)
			require.Equal(t, media.LevelStructure, res.Level)
			continue
		}
		require.Error(t, err, tt.data)
		require.Contains(t, err.Error(), tt.msg)
		require.Less(t, len(err.Error()), 300, "the error shows no more than a snippet")
	}
}

// TestTokenBound checks that one endless XML text node or JSON string is
// refused at MaxToken rather than held in memory.
func TestTokenBound(t *testing.T) {
	big := bytes.Repeat([]byte("a"), media.MaxToken+1<<20)
	for _, tt := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"a.xml", cat([]byte("<a>"), big, []byte("</a>")), "a token runs past 8388608 bytes"},
		{"a.json", cat([]byte(`["`), big, []byte(`"]`)), "a token runs past 8388608 bytes"},
	} {
		_, err := stream(t, media.File{Name: tt.name, Size: int64(len(tt.data))}, tt.data, 1)
		require.ErrorIs(t, err, media.ErrStructure)
		require.Contains(t, err.Error(), tt.msg)
	}
	// A long token under the bound is fine.
	ok := cat([]byte("<a>"), big[:media.MaxToken/2], []byte("</a>"))
	_, err := stream(t, media.File{Name: "a.xml", Size: int64(len(ok))}, ok, 1)
	require.NoError(t, err)
}

func TestDepthBound(t *testing.T) {
	deep := strings.Repeat("[", media.MaxDepth+1) + strings.Repeat("]", media.MaxDepth+1)
	_, err := both(t, media.File{Name: "a.json", Size: int64(len(deep))}, []byte(deep))
	require.ErrorContains(t, err, "JSON nests deeper than 4096")
	deep = strings.Repeat("<a>", media.MaxDepth+1) + strings.Repeat("</a>", media.MaxDepth+1)
	_, err = both(t, media.File{Name: "a.xml", Size: int64(len(deep))}, []byte(deep))
	require.ErrorContains(t, err, "elements nest deeper than 4096")
}

func TestUnknownFormat(t *testing.T) {
	png := fixtureBytes(t, "still.png")
	mp4 := fixtureBytes(t, "progressive-faststart.mp4")
	for _, tt := range []struct {
		data   []byte
		format media.Format
		level  media.Level
	}{
		{png, media.FormatPNG, media.LevelHead},
		{mp4, media.FormatISOBMFF, media.LevelHead},
		{png[:100], media.FormatPNG, media.LevelHead}, // only the head is checked
		{[]byte("hello, world"), media.FormatUnknown, media.LevelNone},
		{nil, media.FormatUnknown, media.LevelNone},
	} {
		res, err := both(t, media.File{Name: "thumb.bin", Size: int64(len(tt.data))}, tt.data)
		require.NoError(t, err)
		require.Equal(t, tt.format, res.Format)
		require.Equal(t, tt.level, res.Level)
	}
}

func TestHeadMismatch(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 100)
	for _, name := range []string{"a.mp4", "a.ts", "a.png", "a.jpg", "a.xml", "a.json", "a.vtt"} {
		res, err := both(t, media.File{Name: name, Size: int64(len(garbage))}, garbage)
		require.ErrorIs(t, err, media.ErrHeadMismatch, name)
		require.NotErrorIs(t, err, media.ErrStructure, name)
		require.Equal(t, media.LevelNone, res.Level)
	}
}

func TestVerifierSizeAndReuse(t *testing.T) {
	png := fixtureBytes(t, "still.png")
	v := media.NewVerifier(media.File{Name: "a.png", Size: int64(len(png)) + 10})
	_, err := v.Write(png)
	require.NoError(t, err)
	require.NoError(t, v.Err())
	_, err = v.Verify()
	require.ErrorIs(t, err, media.ErrStructure)
	require.EqualError(t, err, "media: the file ends at 2236, not at its size 2246")
	_, err = v.Write(png)
	require.Error(t, err)
	_, err = v.Verify()
	require.Error(t, err)

	// Err tells early; size unknown is fine.
	v = media.NewVerifier(media.File{Name: "a.ts", Size: -1})
	bad := bytes.Clone(fixtureBytes(t, "stream.ts"))
	bad[188*3] = 0
	_, err = v.Write(bad[:188*4])
	require.NoError(t, err)
	require.ErrorIs(t, v.Err(), media.ErrStructure)
	_, err = v.Verify()
	require.ErrorIs(t, err, media.ErrStructure)

	_, err = media.VerifyAt(bytes.NewReader(nil), media.File{Name: "a.ts", Size: -1})
	require.EqualError(t, err, "media: VerifyAt: size -1")
}

// TestAbandonedTextVerifier checks that Verify ends the goroutine of a text
// verifier however far it got, also after its parser stopped early.
func TestAbandonedTextVerifier(t *testing.T) {
	for _, data := range []string{"", "<a>", "<a></a> x <b>", `{"a":`, `{} {}`} {
		v := media.NewVerifier(media.File{Name: "a.json", Size: -1})
		if strings.HasPrefix(data, "<") {
			v = media.NewVerifier(media.File{Name: "a.xml", Size: -1})
		}
		_, _ = v.Write([]byte(data))
		_, _ = v.Write([]byte(data))
		_, err := v.Verify()
		require.Error(t, err, data)
	}
}

func TestStructureErrorIs(t *testing.T) {
	err := error(&media.StructureError{Format: media.FormatPNG, Offset: 3, What: "x"})
	require.True(t, errors.Is(err, media.ErrStructure))
	require.EqualError(t, err, "media: x")
}

// TestVerifyAtShortReader checks that a reader holding less than File.Size
// is a read error, not a verdict on the bytes it held.
func TestVerifyAtShortReader(t *testing.T) {
	for _, name := range []string{"a.xml", "a.png", "a.mp4", "a.ts"} {
		data := map[string][]byte{
			"a.xml": []byte("<a></a>"), "a.png": fixtureBytes(t, "still.png"),
			"a.mp4": fixtureBytes(t, "progressive-faststart.mp4"), "a.ts": fixtureBytes(t, "stream.ts"),
		}[name]
		_, err := media.VerifyAt(bytes.NewReader(data), media.File{Name: name, Size: int64(len(data)) + 188})
		require.Error(t, err, name)
		require.NotErrorIs(t, err, media.ErrStructure, name)
		require.ErrorContains(t, err, "media: reading", name)
	}
}
