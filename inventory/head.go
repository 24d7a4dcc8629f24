package inventory

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// strength orders the formats by how unlikely random bytes (a ciphertext,
// or a wrong key's output) pass their head check: a box type from a short
// list and a size, signatures of 8 and 6 bytes, text throughout the head,
// 3 bytes, 2 bytes. Trials and the clear check read the strongest file.
var strength = map[media.Format]int{
	media.FormatISOBMFF: 1, media.FormatPNG: 2, media.FormatXML: 3, media.FormatWebVTT: 4,
	media.FormatJSON: 5, media.FormatJPEG: 6, media.FormatMPEGTS: 7,
}

// textFormats are checked beyond media.CheckHead: their whole head must be
// text, since CheckHead looks at one character of it.
var textFormats = map[media.Format]bool{media.FormatXML: true, media.FormatJSON: true, media.FormatWebVTT: true}

// testFile is a file whose head can tell plaintext from ciphertext.
type testFile struct {
	f      restore.SourceFile
	format media.Format
}

// rankFiles returns the container's non-empty regular files of a known
// format, strongest first (then those with a full head, then by path).
// Fragblobs of a live-archive track are ISO-BMFF whatever their names.
func rankFiles(files []restore.SourceFile, tracks map[string]bool) []testFile {
	var ranked []testFile
	for _, f := range files {
		if !f.Regular || f.Size <= 0 {
			continue
		}
		frag := false
		if i := strings.LastIndexByte(f.Path, '/'); i > 0 && tracks[f.Path[:i]] {
			frag = true
		}
		if format := media.FormatOf(f.Path, frag); format != media.FormatUnknown {
			ranked = append(ranked, testFile{f, format})
		}
	}
	slices.SortFunc(ranked, func(a, b testFile) int {
		if d := strength[a.format] - strength[b.format]; d != 0 {
			return d
		}
		// A full head checks more bytes; a track's header (ftyp, moov) is
		// the one file of a live archive every export that fits names.
		for _, prefer := range []func(testFile) bool{
			func(f testFile) bool { return f.f.Size >= media.HeadSize },
			func(f testFile) bool { return strings.HasSuffix(f.f.Path, "/header") },
		} {
			if pa, pb := prefer(a), prefer(b); pa != pb {
				if pa {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a.f.Path, b.f.Path)
	})
	return ranked
}

// liveTracks returns the live-archive tracks of a listing: each directory
// holding a "header" and at least one fragblob named by a decimal time.
func liveTracks(paths []string) map[string]bool {
	headers, frags := map[string]bool{}, map[string]bool{}
	for _, p := range paths {
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			continue
		}
		dir, base := p[:i], p[i+1:]
		switch {
		case base == "header":
			headers[dir] = true
		case base != "" && strings.Trim(base, "0123456789") == "":
			frags[dir] = true
		}
	}
	tracks := map[string]bool{}
	for d := range headers {
		if frags[d] {
			tracks[d] = true
		}
	}
	return tracks
}

// heads reads the stored first bytes of a container's files, each once: the
// one ranged read a container costs, whatever the number of exports tried
// on it.
type heads struct {
	ctx   context.Context
	src   restore.Source
	raw   map[string][]byte
	reads int
}

func (h *heads) get(f restore.SourceFile) ([]byte, error) {
	if b, ok := h.raw[f.Path]; ok {
		return b, nil
	}
	o, closer, err := h.src.Open(h.ctx, f)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	file, err := blobcrypt.OpenStored(h.ctx, o, f.Size)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	buf := make([]byte, min(int64(media.HeadSize), f.Size))
	h.reads++
	n, err := file.ReadAt(buf, 0)
	if n < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading the head of %s: %w", f.Path, err)
	}
	if h.raw == nil {
		h.raw = map[string][]byte{}
	}
	h.raw[f.Path] = buf
	return buf, nil
}

// firstBlock returns the first 16 plaintext bytes of a stored head (or all
// of a shorter one) under the block cipher of a key and iv: one AES block,
// the cheap first step of trying an export, which most tries end at.
func firstBlock(dst *[aes.BlockSize]byte, raw []byte, block cipher.Block, iv contentkey.IV) []byte {
	var ctr [aes.BlockSize]byte
	binary.BigEndian.PutUint64(ctr[:8], uint64(iv))
	block.Encrypt(dst[:], ctr[:])
	n := min(len(raw), aes.BlockSize)
	subtle.XORBytes(dst[:n], dst[:n], raw[:n])
	return dst[:n]
}

// quickReject reports whether the first bytes of a plaintext (at most 16)
// cannot begin a file of format: a boolean prefilter with the first checks
// of media.CheckHead, which, building an error for every mismatch, costs
// more than the decryption when thousands of exports are tried on a
// container. A head it lets through is checked in full.
func quickReject(format media.Format, p []byte) bool {
	if len(p) == 0 {
		return true
	}
	switch format {
	case media.FormatISOBMFF:
		if len(p) < 8 {
			return false // short files are for the full check
		}
		switch string(p[4:8]) {
		case "ftyp", "styp", "moov", "moof", "sidx", "free", "skip", "mdat", "uuid":
			return false
		}
		return true
	case media.FormatPNG:
		return !bytes.HasPrefix(p, []byte{0x89, 'P', 'N', 'G'})
	case media.FormatJPEG:
		return len(p) >= 3 && !bytes.HasPrefix(p, []byte{0xFF, 0xD8, 0xFF})
	case media.FormatMPEGTS:
		return p[0] != 0x47
	case media.FormatXML, media.FormatJSON, media.FormatWebVTT:
		return !plausibleText(p)
	}
	return false
}

// decryptHead returns the plaintext of a stored head under key and iv (a
// fragblob, like any file, starts at counter 0).
func decryptHead(raw []byte, key contentkey.Key, iv contentkey.IV) ([]byte, error) {
	c, err := blobcrypt.NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(raw))
	c.XORKeyStreamAt(plain, raw, 0)
	return plain, nil
}

// checkPlain reports whether head, the first bytes of a file of the given
// size, is plausible for format: media.CheckHead, and for text formats
// text throughout.
func checkPlain(format media.Format, head []byte, size int64) error {
	if err := media.CheckHead(format, head, size); err != nil {
		return err
	}
	if textFormats[format] && !plausibleText(head) {
		return fmt.Errorf("%w: %s: the head holds bytes that are not text", media.ErrHeadMismatch, format)
	}
	return nil
}

// plausibleText reports whether b is UTF-8 text (a rune cut off at the end
// allowed) without control characters other than tab, CR and LF.
func plausibleText(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b) && len(b) < utf8.UTFMax
		}
		if (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || r == 0x7F {
			return false
		}
		b = b[n:]
	}
	return true
}
