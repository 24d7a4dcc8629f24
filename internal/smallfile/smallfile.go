// Package smallfile reads files that must be small (key files, certificates,
// REST entities, URLs) or bounded (key exports) without letting a path such as
// /dev/zero or a mistaken video file exhaust memory.
package smallfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unicode"
)

// Max is the largest file Read accepts: far above any certificate, key or
// entity, far below anything that would hurt.
const Max = 1 << 20

// Read returns the contents of path, or an error naming it if it is larger
// than Max.
//
// A FIFO that nobody writes reads as empty rather than blocking in open(2)
// (O_NONBLOCK); one with a writer, such as a shell's <(…), is read as usual.
func Read(path string) ([]byte, error) {
	return ReadAtMost(path, Max, "not a key, certificate or entity file")
}

// ReadAtMost is Read with a bound of max bytes; why ends the error for a
// larger file, saying what the bound is for. A regular file is read into one
// buffer of its size, so reading it costs its size and no more.
func ReadAtMost(path string, max int64, why string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= max {
		b.Grow(int(fi.Size()) + bytes.MinRead)
	}
	if _, err := b.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		clear(b.Bytes())
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(b.Len()) > max {
		clear(b.Bytes())
		return nil, fmt.Errorf("%s: larger than %d bytes; %s", path, max, why)
	}
	return b.Bytes(), nil
}

// ReadLine returns the one line of text the file at path holds (a SAS URL,
// kept out of the process list), without its surrounding white space. A
// file that is empty or holds more than a line is refused; the error never
// quotes the contents (the file may be anything, /proc/self/environ).
func ReadLine(path string) (string, error) {
	data, err := Read(path)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(data))
	clear(data)
	if line == "" || strings.ContainsFunc(line, unicode.IsControl) {
		return "", fmt.Errorf("%s must hold exactly one line of text", path)
	}
	return line, nil
}
