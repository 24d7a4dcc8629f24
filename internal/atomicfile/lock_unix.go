//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

const syscallNoFollow = syscall.O_NOFOLLOW

// openExcl creates the file name exclusively, for writing. The *os.File is
// named dst, so that errors from writing to it name the file the user asked
// for, not the temporary name.
func openExcl(name, dst string, perm fs.FileMode) (*os.File, error) {
	fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, uint32(perm))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), dst), nil
}

// lock takes an exclusive flock on f, held until f is closed (also by the
// process dying), which is how removeIfStale tells a live temporary file
// from a leftover. A file system without locks gives errors.ErrUnsupported.
func lock(f *os.File) error {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.ENOLCK) {
		return errors.ErrUnsupported
	}
	return err
}

// tryLock reports whether it took f's lock, that is whether no other open
// file holds it.
func tryLock(f *os.File) bool { return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil }

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
