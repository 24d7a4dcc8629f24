package media

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Level says how much of a file a verifier could vouch for.
type Level string

// The levels of a Result.
const (
	// LevelNone: the file's format is unknown and its head is no format
	// this package knows; nothing was checked.
	LevelNone Level = ""
	// LevelHead: only the head could be checked: the name gives no known
	// format, but the head is one (a known magic), so the key and IV are
	// right; the rest of the file is unchecked.
	LevelHead Level = "head"
	// LevelStructure: the head is the file's format and its structure holds
	// from the first byte to the last.
	LevelStructure Level = "structure"
)

// File names the file a verifier checks.
type File struct {
	// Name is the file's path in its asset; its extension gives the format
	// (FormatOf).
	Name string
	// Fragment is true for a live-archive fragblob: an init segment when
	// the name's last element is "header", else a media segment.
	Fragment bool
	// Size is the plaintext length; -1 when unknown (Verifier only: it then
	// takes the length from what it was given).
	Size int64
}

// Result is what a verification found.
type Result struct {
	// Format is the format verified: the name's, or for a name that gives
	// none the one the head shows (LevelHead), or FormatUnknown.
	Format Format
	Level  Level
	// Read counts the bytes of the file examined: for VerifyAt the bytes
	// it read through its io.ReaderAt, for a Verifier the bytes written to it.
	Read int64
	// Reads counts VerifyAt's ReadAt calls; 0 for a Verifier.
	Reads int
	// Note, when not empty, says what part of a file verified at
	// LevelStructure was checked less deeply: a moov or moof whose child
	// boxes form a whole chain but which mp4ff does not read.
	Note string
}

// MaxCapturedBox is the largest moov or moof box decoded in full (with
// mp4ff) to check its sample tables against the file. A larger one is
// still checked as a link of the chain of boxes.
const MaxCapturedBox = 64 << 20

// MaxToken bounds the memory of XML and JSON verification: the decoder may
// read at most this far past the end of the last complete token, so a
// single token (a string, a text node, a tag) longer than about this fails.
const MaxToken = 8 << 20

// MaxDepth bounds the nesting of XML elements and JSON arrays and objects.
const MaxDepth = 4096

var errVerified = errors.New("media: Write after Verify")

// parser is one format's streaming check. write gets the file's bytes in
// order; end is called once with the total length.
type parser interface {
	write(p []byte)
	err() error
	end(size int64) error
}

// Verifier checks a file's head and whole structure as its plaintext streams
// through it (as an io.Writer beside the hash of a restore), at the cost of
// the file's structure, not of its size: media payloads are skipped by
// counting. Its memory is bounded (see MaxCapturedBox, MaxToken). Verify
// must be called once at the end, also to abandon it: XML and JSON are
// checked in a goroutine that Verify ends.
type Verifier struct {
	file   File
	format Format
	head   []byte
	headOK bool  // the head is complete and was checked
	herr   error // head check failure
	p      parser
	n      int64
	done   bool
}

// NewVerifier returns a Verifier for f.
func NewVerifier(f File) *Verifier {
	v := &Verifier{file: f, format: FormatOf(f.Name, f.Fragment)}
	v.head = make([]byte, 0, HeadSize)
	v.p = newParser(v.format, f)
	return v
}

// newParser returns the streaming parser for format, nil for none.
func newParser(format Format, f File) parser {
	switch format {
	case FormatISOBMFF:
		return newDriver(newISOWalker(FormatISOBMFF, isoKindOf(f)), f.Size, 8)
	case FormatPNG:
		return newDriver(&pngWalker{}, f.Size, 8)
	case FormatJPEG:
		return newDriver(&jpegWalker{}, f.Size, 2)
	case FormatMPEGTS:
		return &tsStream{}
	case FormatWebVTT:
		return &vttStream{}
	case FormatXML:
		return startPipe(FormatXML, parseXML)
	case FormatJSON:
		return startPipe(FormatJSON, parseJSON)
	}
	return nil
}

// Write feeds the next bytes of the file. It never fails, so that it can
// sit in an io.MultiWriter beside a hash without ending the copy: Err tells
// whether the file has already failed, Verify gives the verdict.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.done {
		return 0, errVerified
	}
	v.n += int64(len(p))
	if !v.headOK && v.herr == nil {
		k := min(len(p), HeadSize-len(v.head))
		v.head = append(v.head, p[:k]...)
		if len(v.head) == HeadSize {
			v.checkHead()
		}
	}
	if v.p != nil && v.p.err() == nil {
		v.p.write(p)
	}
	return len(p), nil
}

func (v *Verifier) checkHead() {
	v.headOK = true
	if v.format != FormatUnknown {
		v.herr = checkHead(v.format, v.head)
	}
}

// checkHead is CheckHead without the file's size: a head whose first box
// runs past the end is a damaged file, which the structure check reports
// with what it found, not a wrong key.
func checkHead(f Format, head []byte) error { return CheckHead(f, head, -1) }

// Err returns the failure found so far, nil while the file may still hold:
// a caller may stop early on it.
func (v *Verifier) Err() error {
	if v.herr != nil {
		return v.herr
	}
	if v.headOK && v.p != nil {
		return v.p.err()
	}
	return nil
}

// Verify ends the verification and returns its verdict: an error wrapping
// ErrHeadMismatch for a head that is not the file's format (a wrong key or
// IV), one wrapping ErrStructure (a *StructureError) for a structure that
// does not hold or a length other than File.Size.
func (v *Verifier) Verify() (Result, error) {
	if v.done {
		return Result{}, errVerified
	}
	v.done = true
	res := Result{Format: v.format, Read: v.n}
	var perr error
	if v.p != nil {
		perr = v.p.end(v.n)
	}
	if !v.headOK {
		v.checkHead()
	}
	if v.format == FormatUnknown {
		res.Format, res.Level = Sniff(v.head), LevelHead
		if res.Format == FormatUnknown {
			res.Level = LevelNone
		}
		return res, nil
	}
	if v.herr != nil {
		return res, v.herr
	}
	if v.file.Size >= 0 && v.n != v.file.Size {
		return res, structErr(v.format, min(v.n, v.file.Size), "the file ends at %d, not at its size %d", v.n, v.file.Size)
	}
	if perr != nil {
		return res, perr
	}
	res.Level = LevelStructure
	if d, ok := v.p.(*driver); ok {
		res.Note = d.note()
	}
	return res, nil
}

// countingReaderAt counts what VerifyAt reads, and answers reads within the
// head, which is read first, from memory.
type countingReaderAt struct {
	r     io.ReaderAt
	head  []byte
	read  int64
	reads int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k := 0
	if off >= 0 && off < int64(len(c.head)) {
		k = copy(p, c.head[off:])
		if k == len(p) {
			return k, nil
		}
	}
	c.reads++
	n, err := c.r.ReadAt(p[k:], off+int64(k))
	c.read += int64(n)
	if k+n == len(p) {
		err = nil // an io.ReaderAt may return io.EOF with the last byte
	}
	return k + n, err
}

// VerifyAt checks a file's head and structure by random access, reading
// only what its structure needs: the head, each top-level box's header
// (and moov and moof whole), PNG chunk headers, JPEG segment headers and
// the file's last bytes, a sample of MPEG-TS packets. Text formats (XML,
// JSON, WebVTT) have no structure short of their text and are read whole.
// f.Size must be the file's length. Its results agree with a Verifier's
// for the same bytes.
func VerifyAt(r io.ReaderAt, f File) (Result, error) {
	if f.Size < 0 {
		return Result{}, fmt.Errorf("media: VerifyAt: size %d", f.Size)
	}
	format := FormatOf(f.Name, f.Fragment)
	c := &countingReaderAt{r: r}
	res := Result{Format: format}
	head := make([]byte, min(HeadSize, f.Size))
	if _, err := c.ReadAt(head, 0); err != nil {
		return res, fmt.Errorf("media: reading the head: %w", err)
	}
	c.head = head
	fill := func() { res.Read, res.Reads = c.read, c.reads }
	if format == FormatUnknown {
		fill()
		res.Format = Sniff(head)
		if res.Format != FormatUnknown {
			res.Level = LevelHead
		}
		return res, nil
	}
	if err := checkHead(format, head); err != nil {
		fill()
		return res, err
	}
	var err error
	switch format {
	case FormatISOBMFF:
		d := newDriver(newISOWalker(format, isoKindOf(f)), f.Size, 8)
		err = d.run(c)
		res.Note = d.note()
	case FormatPNG:
		err = newDriver(&pngWalker{}, f.Size, 8).run(c)
	case FormatJPEG:
		err = newDriver(&jpegWalker{}, f.Size, 2).run(c)
	case FormatMPEGTS:
		err = verifyTSAt(c, f.Size)
	default: // text: all of it is structure
		p := newParser(format, f)
		n, cerr := io.Copy(writerOf{p}, io.NewSectionReader(c, 0, f.Size))
		if cerr == nil && n != f.Size {
			cerr = fmt.Errorf("%d of %d bytes: %w", n, f.Size, io.ErrUnexpectedEOF)
		}
		if cerr != nil {
			_ = p.end(n) // ends the goroutine; the read error is what counts
			fill()
			return res, fmt.Errorf("media: reading the file: %w", cerr)
		}
		err = p.end(f.Size)
	}
	fill()
	if err != nil {
		res.Note = ""
		return res, err
	}
	res.Level = LevelStructure
	return res, nil
}

// writerOf feeds a parser from io.Copy.
type writerOf struct{ p parser }

func (w writerOf) Write(b []byte) (int, error) {
	if w.p.err() == nil {
		w.p.write(b)
	}
	return len(b), nil
}

// Sniff returns the format whose magic head starts, or FormatUnknown: for
// files whose name gives no format, where a known magic shows at least that
// the key and IV are right.
func Sniff(head []byte) Format {
	for _, f := range []Format{FormatPNG, FormatJPEG, FormatISOBMFF, FormatWebVTT, FormatMPEGTS} {
		if len(head) >= 8 && CheckHead(f, head, -1) == nil {
			if f == FormatMPEGTS && len(head) <= tsPacketSize {
				continue // one 0x47 byte is no evidence
			}
			return f
		}
	}
	if rest := skipText(head); bytes.HasPrefix(rest, []byte("<?xml")) {
		return FormatXML
	}
	return FormatUnknown
}

// isoKind is what an ISO-BMFF file must hold.
type isoKind int

const (
	isoWhole    isoKind = iota // a whole file: moov, and moof+mdat pairs if fragmented
	isoInit                    // a fragblob header: an init segment (ftyp, moov)
	isoFragment                // a fragblob: moof+mdat pairs, maybe styp first
)

func isoKindOf(f File) isoKind {
	switch {
	case !f.Fragment:
		return isoWhole
	case strings.EqualFold(path.Base(f.Name), "header"):
		return isoInit
	}
	return isoFragment
}

// MarshalJSON writes a Level as a report shows it: "structure" or "head",
// and false for LevelNone (nothing was verified).
func (l Level) MarshalJSON() ([]byte, error) {
	if l == LevelNone {
		return []byte("false"), nil
	}
	return json.Marshal(string(l))
}

// UnmarshalJSON reads what MarshalJSON writes (and true, the head check of
// reports made before levels, as LevelHead).
func (l *Level) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "false", "null":
		*l = LevelNone
		return nil
	case "true":
		*l = LevelHead
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s != string(LevelHead) && s != string(LevelStructure) {
		return fmt.Errorf("media: verification level %q is none of \"head\", \"structure\" or false", s)
	}
	*l = Level(s)
	return nil
}
