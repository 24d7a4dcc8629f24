package media

import (
	"bytes"
	"fmt"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// maxVTTLine is how much of a WebVTT line is kept: enough for any timing
// line; longer lines can only be cue text, which is not kept.
const maxVTTLine = 4096

type vttState int

const (
	vttSignature vttState = iota // line 1
	vttHeader                    // lines after the signature, up to a blank line
	vttBetween                   // blank lines between blocks
	vttAfterID                   // after a cue identifier: a timing line must follow
	vttCue                       // cue text
	vttOther                     // a NOTE, STYLE or REGION block
)

// vttStream checks WebVTT line by line: the signature, a blank line after
// the header, and every cue's timing line (an optional identifier, then
// "start --> end [settings]", timestamps [hh:]mm:ss.ttt). Cue text is not
// interpreted; a line holding "-->" starts a new cue, as in the WebVTT
// parser.
type vttStream struct {
	state   vttState
	line    []byte // the current line, up to maxVTTLine bytes
	long    bool   // the line was longer
	lineNo  int
	lineOff int64
	pos     int64
	cr      bool // the last byte was CR: a LF right after it ends nothing
	idLine  int
	fault   error
}

func (v *vttStream) err() error { return v.fault }

func (v *vttStream) write(p []byte) {
	for len(p) > 0 && v.fault == nil {
		if v.cr && p[0] == '\n' {
			v.cr = false
			p = p[1:]
			v.pos++
			v.lineOff = v.pos
			continue
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			v.add(p)
			v.pos += int64(len(p))
			return
		}
		v.add(p[:i])
		v.cr = p[i] == '\r'
		v.pos += int64(i + 1)
		v.endLine()
		v.lineOff = v.pos
		p = p[i+1:]
	}
}

func (v *vttStream) add(b []byte) {
	v.cr = false
	if room := maxVTTLine - len(v.line); len(b) > room {
		b, v.long = b[:room], true
	}
	v.line = append(v.line, b...)
}

func (v *vttStream) fail(format string, args ...any) {
	v.fault = structErr(FormatWebVTT, v.lineOff, "WebVTT line %d (offset %d): %s", v.lineNo, v.lineOff, fmt.Sprintf(format, args...))
}

func (v *vttStream) endLine() {
	v.lineNo++
	v.lineLogic(v.line, v.long)
	v.line, v.long = v.line[:0], false
}

var arrow = []byte("-->")

func (v *vttStream) lineLogic(line []byte, long bool) {
	blank := len(line) == 0
	switch v.state {
	case vttSignature:
		rest, ok := bytes.CutPrefix(bytes.TrimPrefix(line, utf8BOM), []byte("WEBVTT"))
		if !ok || (len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t') {
			v.fail(`no "WEBVTT" signature line`)
			return
		}
		v.state = vttHeader
	case vttHeader:
		switch {
		case blank:
			v.state = vttBetween
		case bytes.Contains(line, arrow):
			v.fail("a cue timing line in the header: a blank line must come before the first cue")
		}
	case vttBetween, vttOther:
		switch {
		case blank:
			v.state = vttBetween
		case bytes.Contains(line, arrow):
			v.timing(line, long)
		case v.state == vttOther:
		case isBlockWord(line, "NOTE"), isBlockWord(line, "STYLE"), isBlockWord(line, "REGION"):
			v.state = vttOther
		default:
			v.state, v.idLine = vttAfterID, v.lineNo
		}
	case vttAfterID:
		if blank || !bytes.Contains(line, arrow) {
			v.fail("the cue identifier on line %d is not followed by a timing line", v.idLine)
			return
		}
		v.timing(line, long)
	case vttCue:
		switch {
		case blank:
			v.state = vttBetween
		case bytes.Contains(line, arrow):
			v.timing(line, long)
		}
	}
}

func isBlockWord(line []byte, w string) bool {
	rest, ok := bytes.CutPrefix(line, []byte(w))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t')
}

// timing checks "start --> end [settings]".
func (v *vttStream) timing(line []byte, long bool) {
	if long {
		v.fail("a cue timing line longer than %d bytes", maxVTTLine)
		return
	}
	start, rest, _ := bytes.Cut(line, arrow)
	start = bytes.TrimRight(start, " \t")
	rest = bytes.TrimLeft(rest, " \t")
	end := rest // then settings, after a space or tab
	if i := bytes.IndexAny(rest, " \t"); i >= 0 {
		end = rest[:i]
	}
	if !vttTimestamp(start) || !vttTimestamp(end) {
		v.fail("cue timing %s is not \"[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt\"", quote.Input(string(line)))
		return
	}
	v.state = vttCue
}

// vttTimestamp reports whether b is [h+:]mm:ss.ttt with mm and ss under 60.
func vttTimestamp(b []byte) bool {
	parts := bytes.Split(b, []byte(":"))
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	if len(parts) == 3 {
		if !allDigits(parts[0]) {
			return false
		}
		parts = parts[1:]
	}
	ss, ms, ok := bytes.Cut(parts[1], []byte("."))
	return ok && twoDigitsUnder60(parts[0]) && twoDigitsUnder60(ss) && len(ms) == 3 && allDigits(ms)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func twoDigitsUnder60(b []byte) bool { return len(b) == 2 && allDigits(b) && b[0] < '6' }

func (v *vttStream) end(size int64) error {
	if v.fault != nil {
		return v.fault
	}
	if len(v.line) > 0 || v.long || v.lineNo == 0 {
		v.endLine()
		if v.fault != nil {
			return v.fault
		}
	}
	if v.state == vttAfterID {
		return structErr(FormatWebVTT, size, "WebVTT: the cue identifier on line %d is not followed by a timing line: the file ends at %d", v.idLine, size)
	}
	return nil
}
