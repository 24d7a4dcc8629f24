//go:build !linux

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

// Unnamed files (O_TMPFILE) are Linux's alone.
func openUnnamed(*os.Root, string, fs.FileMode) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkUnnamed(*os.File, *os.Root, string) error { return errors.ErrUnsupported }
