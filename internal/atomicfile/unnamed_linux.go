package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// noUnnamed makes openUnnamed report no support; tests set it to take the
// named fallback on Linux too.
var noUnnamed bool

// openUnnamed opens an unnamed file (O_TMPFILE) in dir, the directory of dst, or returns an error
// matching errors.ErrUnsupported where the kernel or file system has none
// (EISDIR from kernels older than 3.11, EOPNOTSUPP from file systems without
// it), or where /proc is not mounted, without which it could not be linked
// into place later.
func openUnnamed(dir *os.Root, dst string, perm fs.FileMode) (*os.File, error) {
	if noUnnamed {
		return nil, errors.ErrUnsupported
	}
	f, err := dir.OpenFile(".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, perm)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return nil, errors.ErrUnsupported
	case err != nil:
		return nil, err
	}
	if unix.Access(procPath(int(f.Fd())), unix.F_OK) != nil {
		f.Close()
		return nil, errors.ErrUnsupported
	}
	return named(f, dst)
}

func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// linkUnnamed gives the unnamed file f the name path; it fails with EEXIST
// if path exists. linkat through /proc needs no privilege, unlike
// AT_EMPTY_PATH.
func linkUnnamed(f *os.File, dir *os.Root, name string) error {
	d, err := dir.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	lerr := unix.Linkat(unix.AT_FDCWD, procPath(int(f.Fd())), int(d.Fd()), name, unix.AT_SYMLINK_FOLLOW)
	if lerr != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: name, Err: lerr}
	}
	return nil
}
