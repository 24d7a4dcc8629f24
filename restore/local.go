package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
)

// ErrOutInsideIn is returned by CheckDirs for an output directory inside the
// input (or equal to it): a re-run would list the plaintext as the asset's
// own files.
var ErrOutInsideIn = errors.New("restore: the output directory is inside the input directory")

// CheckDirs refuses an output directory that is the input directory or
// inside it, also through symbolic links. out need not exist yet.
func CheckDirs(out, in string) error {
	inside, err := atomicfile.Inside(out, in)
	if err == nil && inside {
		err = fmt.Errorf("%w: %s is inside %s", ErrOutInsideIn, out, in)
	}
	return err
}

// Dir is a local directory as a Source (an asset copied with azcopy) or a
// Sink (where restored files go).
type Dir struct {
	Root string
	// RemovedStale, if set, is told of every leftover temporary file of a
	// killed earlier run that writing into the directory removed.
	RemovedStale func(path string)
}

// List walks the directory. Symbolic links and other non-regular files are
// listed with Regular false, and never followed.
func (d Dir) List(ctx context.Context) ([]SourceFile, error) {
	var files []SourceFile
	err := filepath.WalkDir(d.Root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.Root, path)
		if err != nil {
			return err
		}
		f := SourceFile{Path: filepath.ToSlash(rel), Regular: e.Type().IsRegular()}
		if f.Regular {
			info, err := e.Info()
			if err != nil {
				return err
			}
			f.Size = info.Size()
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// path maps a '/'-separated relative path into the directory. Plan entries
// and listed paths are already safe relative paths; this refuses anything
// else again, as the last line before the file system.
func (d Dir) path(rel string) (string, error) {
	clean := filepath.FromSlash(rel)
	if rel == "" || !filepath.IsLocal(clean) {
		return "", fmt.Errorf("restore: unsafe file name %q", rel)
	}
	return filepath.Join(d.Root, clean), nil
}

// open opens the file at rel, without following a symbolic link or
// leaving the directory, with its path and what it is; a file (or the
// root) that does not exist is fs.ErrNotExist. A FIFO is opened without
// blocking until a writer comes (atomicfile.OpenIn).
func (d Dir) open(rel string) (*os.File, string, fs.FileInfo, error) {
	p, err := d.path(rel)
	if err != nil {
		return nil, "", nil, err
	}
	root, err := os.OpenRoot(d.Root)
	if err != nil {
		return nil, "", nil, err
	}
	defer root.Close()
	fh, err := atomicfile.OpenIn(root, rel)
	if err != nil {
		return nil, "", nil, err
	}
	info, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, "", nil, err
	}
	return fh, p, info, nil
}

// Open opens a listed file, without following a symbolic link or leaving
// the directory. The file must still be the size it was listed with: an
// asset that changes during a restore is an error, not a guess.
func (d Dir) Open(_ context.Context, f SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	fh, p, info, err := d.open(f.Path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() || info.Size() != f.Size {
		fh.Close()
		return nil, nil, fmt.Errorf("%s changed during the run (now %d bytes, listed with %d)", p, info.Size(), f.Size)
	}
	return blobcrypt.SectionOpener(fh), &dirSourceFile{File: fh, path: p, at: info}, nil
}

// dirSourceFile is an open source file with what it was when opened, so that
// a file written over in place during the run (same size, another content:
// a restore's output would be a mix of two versions) fails rather than
// being committed as restored.
type dirSourceFile struct {
	*os.File
	path string
	at   fs.FileInfo
}

// unchanged reports an error if the file's size or modification time
// differs from when it was opened.
func (f *dirSourceFile) unchanged() error {
	now, err := f.Stat()
	if err != nil {
		return err
	}
	if now.Size() != f.at.Size() || !now.ModTime().Equal(f.at.ModTime()) {
		return fmt.Errorf("%s changed while it was read (written to during the run); not restored: run again", f.path)
	}
	return nil
}

// Existing opens the file at rel if there is one.
func (d Dir) Existing(_ context.Context, rel string) (io.ReaderAt, int64, io.Closer, error) {
	fh, p, info, err := d.open(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, nil, nil
	case err != nil:
		return nil, 0, nil, err
	case !info.Mode().IsRegular():
		fh.Close()
		return nil, 0, nil, fmt.Errorf("%s exists and is not a regular file; not replaced", p)
	}
	return fh, info.Size(), fh, nil
}

// Create starts the plaintext file at rel (mode 0600, in directories made
// 0700 as needed), which appears only on Commit. Nothing under Root is
// followed: a symbolic link where a directory of rel should be is an error
// naming it, so a restore never writes outside Root.
func (d Dir) Create(_ context.Context, rel string, _ OutputInfo) (Output, error) {
	if _, err := d.path(rel); err != nil {
		return nil, err
	}
	// Root itself is the directory the user named: made if missing (0700),
	// and reached as given, links included.
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(d.Root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := atomicfile.CreateIn(root, rel, atomicfile.Options{Perm: 0o600, RemovedStale: d.RemovedStale})
	if err != nil {
		return nil, err
	}
	return dirOutput{f}, nil
}

type dirOutput struct{ f *atomicfile.File }

func (o dirOutput) Write(b []byte) (int, error) {
	n, err := o.f.File().Write(b)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		// Name the user's file, not the unnamed or hidden temporary one.
		err = fmt.Errorf("%s: %w", o.f.Name(), pe.Err)
	}
	return n, err
}

func (o dirOutput) Commit(string) error { return o.f.Commit() }
func (o dirOutput) Abort()              { o.f.Abort() }
