// Package atomicfile moves a finished temporary file to its destination so
// that the destination appears whole or not at all, and an existing file is
// replaced only when the caller asked for that.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// link is os.Link; tests replace it to act as a file system without hard
// links.
var link = os.Link

// Place moves the file tmp to dst. With overwrite it renames, replacing
// dst. Without, it hard-links and removes tmp, because a rename would
// silently replace a dst that appeared meanwhile; an existing dst is an
// error matching fs.ErrExist. On a file system without hard links (some
// FUSE, SMB and exFAT mounts) it checks for dst and renames, which leaves a
// window of microseconds in which a new dst could be replaced. On error tmp
// is left for the caller to remove.
func Place(tmp, dst string, overwrite bool) error {
	if overwrite {
		return os.Rename(tmp, dst)
	}
	err := link(tmp, dst)
	switch {
	case err == nil:
		os.Remove(tmp)
		return nil
	case errors.Is(err, fs.ErrExist):
		return exists(dst)
	}
	if _, err := os.Lstat(dst); err == nil {
		return exists(dst)
	}
	return os.Rename(tmp, dst)
}

func exists(dst string) error {
	return fmt.Errorf("%s exists; refusing to overwrite it: %w", dst, fs.ErrExist)
}

// WritePrivate writes data to path with mode 0600, whole or not at all: to
// a temporary file in path's directory, synced, then placed as Place does.
func WritePrivate(path string, data []byte, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once placed
	// CreateTemp makes the file 0600 already; Chmod states the intent and
	// does not depend on that.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return Place(tmp.Name(), path, overwrite)
}

// An Input is a file a command reads, named by the flag that gave it.
type Input struct {
	Flag, Path string
}

// NotAnInput returns an error if dst is the same file as one of inputs (also
// through a link), so that an output never replaces a file the command reads,
// above all its key file, not even where overwriting is allowed. A dst that
// does not exist yet, or an input that cannot be read (its reader will say
// why), is not an error here.
func NotAnInput(dst string, inputs ...Input) error {
	di, err := os.Stat(dst)
	if err != nil {
		return nil
	}
	for _, in := range inputs {
		if in.Path == "" {
			continue
		}
		if ii, err := os.Stat(in.Path); err == nil && os.SameFile(di, ii) {
			return fmt.Errorf("%s is the file given as %s %s; refusing to overwrite a file this command reads, even with --force", dst, in.Flag, in.Path)
		}
	}
	return nil
}
