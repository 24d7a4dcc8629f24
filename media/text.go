package media

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// pipeParser runs a decoder of the standard library (encoding/xml,
// encoding/json), which pulls from an io.Reader, over bytes pushed to it by
// write: an io.Pipe hands each write to the decoder's goroutine, so nothing
// is buffered beyond what the decoder holds, which boundedReader limits.
type pipeParser struct {
	pw    *io.PipeWriter
	done  chan error
	dead  bool // the parser stopped reading: it failed, or the file went on
	fault error
}

// errParserDone ends the writes to a parser that has stopped reading.
var errParserDone = errors.New("media: the parser has stopped")

func startPipe(f Format, parse func(f Format, r *boundedReader) error) *pipeParser {
	pr, pw := io.Pipe()
	p := &pipeParser{pw: pw, done: make(chan error, 1)}
	go func() {
		err := parse(f, &boundedReader{r: pr})
		pr.CloseWithError(errParserDone)
		p.done <- err
	}()
	return p
}

func (p *pipeParser) write(b []byte) {
	if p.dead {
		return
	}
	if _, err := p.pw.Write(b); err != nil {
		p.dead = true
	}
}

// err is the parser's verdict once it has stopped early; nil before.
func (p *pipeParser) err() error {
	if p.fault == nil && p.dead {
		p.fault = <-p.done
		p.done <- p.fault // for end
	}
	return p.fault
}

func (p *pipeParser) end(int64) error {
	p.pw.Close()
	err := <-p.done
	p.done <- err
	return err
}

// boundedReader is what a decoder reads: it counts the bytes handed out and
// refuses to hand out more than MaxToken past mark, the end of the last
// complete token, so that one endless token cannot fill memory.
type boundedReader struct {
	r    io.Reader
	read int64
	mark int64
	bom  int64 // a UTF-8 BOM taken off the front
	peek []byte
}

var errTokenTooLong = errors.New("token too long")

func (b *boundedReader) Read(p []byte) (int, error) {
	if len(b.peek) > 0 {
		n := copy(p, b.peek)
		b.peek = b.peek[n:]
		b.read += int64(n)
		return n, nil
	}
	allow := b.mark + MaxToken - b.read
	if allow <= 0 {
		return 0, errTokenTooLong
	}
	if int64(len(p)) > allow {
		p = p[:allow]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// dropBOM takes a UTF-8 BOM off the front; offsets then count from after it.
func (b *boundedReader) dropBOM() error {
	var head [3]byte
	n, err := io.ReadFull(b.r, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	if n == 3 && bytes.Equal(head[:], utf8BOM) {
		b.bom = 3
		return nil
	}
	b.peek = append([]byte(nil), head[:n]...)
	return nil
}

// total is the file's length once the decoder has read it all.
func (b *boundedReader) total() int64 { return b.bom + b.read }

func parseXML(f Format, br *boundedReader) error {
	if err := br.dropBOM(); err != nil {
		return err
	}
	d := xml.NewDecoder(br)
	d.Strict = true
	d.CharsetReader = charsetReader
	type open struct {
		name string
		line int
	}
	var stack []open
	names := 0 // bytes of the names in stack
	root, closed := false, 0
	fail := func(format string, args ...any) error {
		line, _ := d.InputPos()
		off := br.bom + d.InputOffset()
		return structErr(f, off, "XML line %d (offset %d): %s", line, off, fmt.Sprintf(format, args...))
	}
	for {
		br.mark = d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			switch {
			case len(stack) > 0:
				top := stack[len(stack)-1]
				return structErr(f, br.total(), "XML element <%s> opened at line %d is not closed: the file ends at %d", top.name, top.line, br.total())
			case !root:
				return structErr(f, br.total(), "XML has no root element: the file ends at %d", br.total())
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			switch {
			case errors.Is(err, errTokenTooLong):
				return fail("a token runs past %d bytes", MaxToken)
			case errors.As(err, &se) && se.Msg == "unexpected EOF":
				return structErr(f, br.total(), "XML ends inside a tag or token at line %d: the file ends at %d", se.Line, br.total())
			case errors.As(err, &se):
				return fail("%s", quote.Input(se.Msg))
			}
			return fail("%s", quote.Input(err.Error()))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := xmlName(t.Name)
			if root && len(stack) == 0 {
				return fail("a second root element <%s> after the root element closed at line %d", name, closed)
			}
			root = true
			names += len(name)
			if len(stack) == MaxDepth || names > MaxToken {
				return fail("elements nest deeper than %d", MaxDepth)
			}
			line, _ := d.InputPos()
			stack = append(stack, open{name, line})
		case xml.EndElement:
			name := xmlName(t.Name)
			if len(stack) == 0 {
				return fail("closing tag </%s> with no element open", name)
			}
			top := stack[len(stack)-1]
			if top.name != name {
				return fail("element <%s> opened at line %d is closed by </%s>", top.name, top.line, name)
			}
			stack = stack[:len(stack)-1]
			names -= len(top.name)
			if len(stack) == 0 {
				closed, _ = d.InputPos()
			}
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimLeft(t, " \t\r\n")) > 0 {
				where := "before the root element"
				if root {
					where = fmt.Sprintf("after the root element closed at line %d", closed)
				}
				return fail("text %s %s", where, quote.Input(string(t)))
			}
		case xml.Directive:
			if root {
				return fail("a <!%s> declaration after the root element", quote.Input(firstWord(t)))
			}
		}
	}
}

// xmlName is a name as written: prefix:local.
func xmlName(n xml.Name) string {
	s := n.Local
	if n.Space != "" {
		s = n.Space + ":" + s
	}
	if len(s) > 64 || !utf8.ValidString(s) {
		return quote.Input(s)
	}
	return s
}

func firstWord(b []byte) string {
	s, _, _ := strings.Cut(string(b[:min(len(b), 32)]), " ")
	return s
}

// charsetReader lets documents that declare a single-byte encoding the
// standard library does not know be checked: ISO-8859-1 and its kin map
// byte for byte to the first 256 code points, which is exact for
// ISO-8859-1 and, for the structure (tags are ASCII), enough for the rest.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "latin-1", "iso_8859-1", "us-ascii", "ascii", "windows-1252", "cp1252":
		return &latin1Reader{r: bufio.NewReader(r)}, nil
	}
	return nil, fmt.Errorf("encoding %s is not supported", quote.Input(charset))
}

type latin1Reader struct {
	r   *bufio.Reader
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.out) == 0 {
		c, err := l.r.ReadByte()
		if err != nil {
			return 0, err
		}
		l.out = utf8.AppendRune(l.out[:0], rune(c))
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

func parseJSON(f Format, br *boundedReader) error {
	if err := br.dropBOM(); err != nil {
		return err
	}
	d := json.NewDecoder(br)
	d.UseNumber()
	depth, values := 0, 0
	type open struct {
		off  int64
		kind string
	}
	var opened []open // the open arrays and objects, up to MaxDepth
	for {
		br.mark = d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			switch {
			case depth > 0:
				return structErr(f, br.total(), "JSON ends inside the %s opened at %d: the file ends at %d", opened[len(opened)-1].kind, br.bom+opened[len(opened)-1].off, br.total())
			case values == 0:
				return structErr(f, br.total(), "JSON holds no value: the file ends at %d", br.total())
			}
			return nil
		}
		if err != nil {
			off := br.bom + d.InputOffset()
			var se *json.SyntaxError
			switch {
			case errors.Is(err, errTokenTooLong):
				return structErr(f, off, "JSON at %d: a token runs past %d bytes", off, MaxToken)
			case errors.Is(err, io.ErrUnexpectedEOF):
				return structErr(f, br.total(), "JSON ends inside a value at %d: the file ends at %d", off, br.total())
			case errors.As(err, &se):
				off = br.bom + se.Offset
				return structErr(f, off, "JSON at %d: %s", off, quote.Input(se.Error()))
			}
			return structErr(f, off, "JSON at %d: %s", off, quote.Input(err.Error()))
		}
		if depth == 0 && values > 0 {
			off := br.bom + d.InputOffset()
			return structErr(f, off, "JSON goes on after its value: another starts before %d", off)
		}
		if delim, ok := tok.(json.Delim); ok {
			switch delim {
			case '{', '[':
				depth++
				if depth > MaxDepth {
					return structErr(f, br.bom+d.InputOffset(), "JSON nests deeper than %d", MaxDepth)
				}
				kind := "object"
				if delim == '[' {
					kind = "array"
				}
				opened = append(opened, open{d.InputOffset() - 1, kind})
				continue
			default:
				depth--
				opened = opened[:len(opened)-1]
			}
		}
		if depth == 0 {
			values++
		}
	}
}
