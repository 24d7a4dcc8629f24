package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Format is a file format whose head CheckHead knows; "" is unknown.
type Format string

// The formats of the files a Media Services asset holds.
const (
	FormatISOBMFF Format = "iso-bmff"
	FormatMPEGTS  Format = "mpeg-ts"
	FormatXML     Format = "xml"
	FormatWebVTT  Format = "webvtt"
	FormatJSON    Format = "json"
	FormatJPEG    Format = "jpeg"
	FormatPNG     Format = "png"
	FormatUnknown Format = ""
)

// HeadSize is how many plaintext bytes from the start of a file CheckHead
// needs for any format: the second MPEG-TS sync byte is at offset 188.
const HeadSize = tsPacketSize + 1

const tsPacketSize = 188

// ErrHeadMismatch is wrapped by CheckHead's error for a decrypted head that
// is not the file's format: almost always the wrong key or IV.
var ErrHeadMismatch = errors.New("media: decrypted head does not match the file's format")

var formatByExt = map[string]Format{
	".mp4": FormatISOBMFF, ".m4v": FormatISOBMFF, ".m4a": FormatISOBMFF, ".mov": FormatISOBMFF,
	".3gp": FormatISOBMFF, ".ismv": FormatISOBMFF, ".isma": FormatISOBMFF, ".cmfv": FormatISOBMFF,
	".cmfa": FormatISOBMFF,
	".ts":   FormatMPEGTS,
	".ism":  FormatXML, ".ismc": FormatXML, ".xml": FormatXML, ".ttml": FormatXML,
	".vtt":  FormatWebVTT,
	".json": FormatJSON,
	".jpg":  FormatJPEG, ".jpeg": FormatJPEG,
	".png": FormatPNG,
}

// FormatOf returns the format of an asset file from its name's extension
// (in any case). Every live-archive fragblob (fragment true) is ISO-BMFF,
// whatever its name: "header" is an init segment, the others moof+mdat.
func FormatOf(name string, fragment bool) Format {
	if fragment {
		return FormatISOBMFF
	}
	return formatByExt[strings.ToLower(path.Ext(name))]
}

// isoBoxTypes are the box types an ISO-BMFF file or fragment may start with.
var isoBoxTypes = map[string]bool{
	"ftyp": true, "styp": true, "moov": true, "moof": true, "sidx": true,
	"free": true, "skip": true, "mdat": true, "uuid": true,
}

var (
	utf8BOM      = []byte{0xEF, 0xBB, 0xBF}
	pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	jpegSOI      = []byte{0xFF, 0xD8, 0xFF}
)

// CheckHead reports whether head, the first min(HeadSize, size) plaintext
// bytes of a file of format f and length size (-1 when unknown), is
// plausible for f. It returns nil for a plausible head and for FormatUnknown;
// an error wrapping ErrHeadMismatch that says what was found otherwise.
// The bytes it shows are of the decrypted file, never of a key.
func CheckHead(f Format, head []byte, size int64) error {
	if f == FormatUnknown {
		return nil
	}
	check, ok := headChecks[f]
	if !ok {
		return fmt.Errorf("media: CheckHead: unknown format %q", string(f))
	}
	if size >= 0 {
		if int64(len(head)) > size {
			return fmt.Errorf("media: CheckHead: head is %d bytes, longer than the %d-byte file", len(head), size)
		}
		if want := min(HeadSize, size); int64(len(head)) < want {
			return fmt.Errorf("media: CheckHead: head is %d bytes; give the first %d", len(head), want)
		}
	}
	if len(head) == 0 {
		return mismatch(f, head, "the file is empty")
	}
	if what := check(head, size); what != "" {
		return mismatch(f, head, what)
	}
	return nil
}

func mismatch(f Format, head []byte, what string) error {
	if len(head) == 0 {
		return fmt.Errorf("%w: %s: %s", ErrHeadMismatch, f, what)
	}
	shown := head[:min(len(head), 8)]
	return fmt.Errorf("%w: %s: %s; it starts % x (wrong key or IV?)", ErrHeadMismatch, f, what, shown)
}

// headChecks return "" for a plausible head, else what is wrong with it.
// head is never empty.
var headChecks = map[Format]func(head []byte, size int64) string{
	FormatISOBMFF: checkISOBMFF,
	FormatMPEGTS:  checkMPEGTS,
	FormatXML:     checkXML,
	FormatWebVTT:  checkWebVTT,
	FormatJSON:    checkJSON,
	FormatJPEG: func(head []byte, _ int64) string {
		if !bytes.HasPrefix(head, jpegSOI) {
			return "no JPEG start-of-image marker FF D8 FF"
		}
		return ""
	},
	FormatPNG: func(head []byte, _ int64) string {
		if !bytes.HasPrefix(head, pngSignature) {
			return "no PNG signature"
		}
		return ""
	},
}

func checkISOBMFF(head []byte, size int64) string {
	if len(head) < 8 {
		return fmt.Sprintf("%d bytes is too short for a box header", len(head))
	}
	boxType := head[4:8]
	if !isoBoxTypes[string(boxType)] {
		return fmt.Sprintf("first box type %q is none of ftyp, styp, moov, moof, sidx, free, skip, mdat, uuid", boxType)
	}
	n := uint64(binary.BigEndian.Uint32(head))
	what := "size"
	switch {
	case n == 0: // the box runs to the end of the file
		return ""
	case n == 1:
		if len(head) < 16 {
			return fmt.Sprintf("%d bytes is too short for a box header with a 64-bit size", len(head))
		}
		n, what = binary.BigEndian.Uint64(head[8:16]), "64-bit size"
		if n < 16 {
			return fmt.Sprintf("first box's 64-bit size %d is under 16", n)
		}
	case n < 8:
		return fmt.Sprintf("first box's size %d is under 8", n)
	}
	if size >= 0 && n > uint64(size) {
		return fmt.Sprintf("first box's %s %d is larger than the %d-byte file", what, n, size)
	}
	return ""
}

func checkMPEGTS(head []byte, size int64) string {
	if head[0] != 0x47 {
		return "no sync byte 0x47 at offset 0"
	}
	if len(head) > tsPacketSize && head[tsPacketSize] != 0x47 {
		return fmt.Sprintf("no sync byte 0x47 at offset %d, found %#02x", tsPacketSize, head[tsPacketSize])
	}
	return ""
}

// skipText drops a UTF-8 BOM and ASCII whitespace.
func skipText(head []byte) []byte {
	head = bytes.TrimPrefix(head, utf8BOM)
	return bytes.TrimLeft(head, " \t\r\n")
}

func checkXML(head []byte, _ int64) string {
	if rest := skipText(head); len(rest) == 0 || rest[0] != '<' {
		return "no '<' after an optional BOM and whitespace"
	}
	return ""
}

func checkJSON(head []byte, _ int64) string {
	if rest := skipText(head); len(rest) == 0 || (rest[0] != '{' && rest[0] != '[') {
		return "no '{' or '[' after an optional BOM and whitespace"
	}
	return ""
}

func checkWebVTT(head []byte, size int64) string {
	rest, ok := bytes.CutPrefix(bytes.TrimPrefix(head, utf8BOM), []byte("WEBVTT"))
	if !ok {
		return `no "WEBVTT" signature after an optional BOM`
	}
	if len(rest) == 0 {
		// "WEBVTT" must then be the whole file.
		if size < 0 || int64(len(head)) == size {
			return ""
		}
		return `"WEBVTT" is not followed by a space, tab or line break`
	}
	switch rest[0] {
	case ' ', '\t', '\r', '\n':
		return ""
	}
	return `"WEBVTT" is not followed by a space, tab or line break`
}
