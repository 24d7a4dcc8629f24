package livearchive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// HeaderName is the fragblob that holds a track's init segment.
const HeaderName = "header"

// Blob is the plaintext of one fragblob, read at any offset. A
// *blobcrypt.File (a decrypting reader over a local file or a blob
// container) is one; so is an *os.File wrapped with its size. If a Blob is
// also an io.Closer, the stitcher closes it when done with it.
type Blob interface {
	io.ReaderAt
	Size() int64
}

// Fragments reaches one track's plaintext fragblobs by their names under
// the track prefix ("header", "20000000", …). Every fragblob decrypts on
// its own, from counter 0 with the track's IV: an implementation opens a
// decrypting reader per name.
type Fragments interface {
	// Names lists the names the container holds under the track prefix, in
	// any order.
	Names(ctx context.Context) ([]string, error)
	// Open returns the plaintext of the fragblob name; an error that
	// matches fs.ErrNotExist when there is none. The stitcher reads a blob
	// with a few large ReadAt calls (the first at offset 0), and calls Open
	// again for each Layout read it needs.
	Open(ctx context.Context, name string) (Blob, error)
}

// FS returns the Fragments held as files in the root of fsys: for plaintext
// fragblobs in a directory, FS(os.DirFS("restored/video=1500000")). The
// files must implement io.ReaderAt, as *os.File does.
func FS(fsys fs.FS) Fragments { return fsFragments{fsys} }

type fsFragments struct{ fsys fs.FS }

func (f fsFragments) Names(context.Context) ([]string, error) {
	entries, err := fs.ReadDir(f.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("livearchive: listing fragblobs: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (f fsFragments) Open(_ context.Context, name string) (Blob, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("livearchive: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("livearchive: %w", err)
	}
	if !st.Mode().IsRegular() {
		file.Close()
		return nil, fmt.Errorf("livearchive: fragblob %s is not a regular file", name)
	}
	ra, ok := file.(io.ReaderAt)
	if !ok {
		file.Close()
		return nil, errors.New("livearchive: the file system's files do not implement io.ReaderAt")
	}
	return fileBlob{ra, file, st.Size()}, nil
}

type fileBlob struct {
	io.ReaderAt
	c    io.Closer
	size int64
}

func (b fileBlob) Size() int64  { return b.size }
func (b fileBlob) Close() error { return b.c.Close() }

func closeBlob(b Blob) {
	if c, ok := b.(io.Closer); ok {
		c.Close()
	}
}
