// Package smallfile reads files that must be small (key files, certificates,
// REST entities, URLs) without letting a path such as /dev/zero or a
// mistaken video file exhaust memory.
package smallfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
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
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, Max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > Max {
		clear(b)
		return nil, fmt.Errorf("%s: larger than %d bytes; not a key, certificate or entity file", path, Max)
	}
	return b, nil
}
