//go:build !unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

const syscallNoFollow = 0

func openExcl(name, _ string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
}

// Without flock there is no telling a live temporary file from a leftover,
// so none is ever taken for stale.
func lock(*os.File) error { return errors.ErrUnsupported }

func tryLock(*os.File) bool { return false }
