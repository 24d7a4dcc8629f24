// Package atomicfile moves a finished temporary file to its destination so
// that the destination appears whole or not at all, and an existing file is
// replaced only when the caller asked for that.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
