//go:build !unix

package atomicfile

import (
	"errors"
	"os"
)

const syscallNonBlock = 0

const syscallNoFollow = 0

// named returns f: elsewhere the file keeps its temporary name in errors.
func named(f *os.File, _ string) (*os.File, error) { return f, nil }

func lock(*os.File) error { return errors.ErrUnsupported }

func tryLock(*os.File) bool { return false }
