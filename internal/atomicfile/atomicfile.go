// Package atomicfile creates output files that appear whole or not at all.
// Create returns a handle to write through; Commit syncs the data, puts the
// file at its destination and syncs the directory; Abort, or a crash before
// Commit, leaves nothing behind. It is the project's only way to place an
// output file: key files, resume state, encrypted and decrypted files and
// downloads all go through it.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotRegular is matched by the error for a destination that exists and is
// neither a regular file nor a symbolic link (a directory, device, FIFO or
// socket): Create never replaces one, not even with Overwrite.
var ErrNotRegular = errors.New("not a regular file")

// ErrIsInput is matched by NotAnInput's error.
var ErrIsInput = errors.New("destination is a file this command reads")

// Options tune Create. The zero value creates a 0600 file and refuses an
// existing destination.
type Options struct {
	// Perm is the new file's permission bits, applied exactly (not masked
	// by the umask); 0 means 0600.
	Perm fs.FileMode
	// Overwrite allows replacing an existing regular file or symbolic link
	// (the link itself is replaced, its target left alone). Without it an
	// existing destination of any type is an error matching fs.ErrExist.
	Overwrite bool
	// RemovedStale, if set, is called with the path of every leftover
	// temporary file of an earlier, dead process that Create removed from
	// the destination's directory.
	RemovedStale func(path string)
}

// A File is an output file being written. Write through File(); then call
// Commit to put it in place, or Abort to throw it away. Abort after Commit
// is a no-op, so `defer f.Abort()` right after Create is the idiom.
type File struct {
	f   *os.File
	dst string
	o   Options
	// tmp is the temporary file's path, or "" for an unnamed (O_TMPFILE)
	// file, which has no name until Commit links it into place.
	tmp  string
	done bool
}

// Create starts a new file that Commit will put at dst. It checks dst first
// (exists without Overwrite: fs.ErrExist; not a regular file or symlink:
// ErrNotRegular), removes stale temporary files that dead processes left in
// dst's directory, and opens the file to write. On Linux that file is
// unnamed (O_TMPFILE): until Commit nothing of it is visible, and a crash
// or power cut leaves nothing at all. Elsewhere, or where the file system
// does not support unnamed files, it is a hidden temporary file
// ".<name>.amscrypt-tmp-<random>" in dst's directory, locked while in use so
// that a later Create can tell it from one whose creator is gone.
//
// Every error names dst, never a temporary name.
func Create(dst string, o Options) (*File, error) {
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	o.Perm &= fs.ModePerm
	if err := checkDestination(dst, o.Overwrite); err != nil {
		return nil, err
	}
	dir := filepath.Dir(dst)
	removeStale(dir, o.RemovedStale)
	f, err := openUnnamed(dir, dst, o.Perm)
	if err == nil {
		return finishCreate(&File{f: f, dst: dst, o: o})
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return nil, &fs.PathError{Op: "create", Path: dst, Err: cause(err)}
	}
	f, tmp, err := createTemp(dst, o.Perm)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: dst, Err: cause(err)}
	}
	return finishCreate(&File{f: f, dst: dst, o: o, tmp: tmp})
}

// finishCreate locks the new file, so that no other process takes it for a
// stale leftover, and sets its mode exactly, past the umask.
func finishCreate(a *File) (*File, error) {
	err := lock(a.f)
	if err == nil || errors.Is(err, errors.ErrUnsupported) {
		err = a.f.Chmod(a.o.Perm)
	}
	if err != nil {
		a.Abort()
		return nil, &fs.PathError{Op: "create", Path: a.dst, Err: cause(err)}
	}
	return a, nil
}

// File returns the open file to write to. It stays valid until Commit or
// Abort; do not close it.
func (a *File) File() *os.File { return a.f }

// Name returns the destination path.
func (a *File) Name() string { return a.dst }

// Commit syncs the file, puts it at the destination and syncs the
// directory, so that once it returns nil the file is there whole, also
// after a power cut. Without Overwrite an existing destination, even one
// that appeared after Create, is left alone and the error matches
// fs.ErrExist. Whatever happens, the handle is finished afterwards: on
// error nothing is left behind.
func (a *File) Commit() (err error) {
	if a.done {
		return &fs.PathError{Op: "commit", Path: a.dst, Err: fs.ErrClosed}
	}
	defer func() {
		if err != nil {
			a.Abort()
		}
	}()
	if err := a.f.Sync(); err != nil {
		return &fs.PathError{Op: "sync", Path: a.dst, Err: cause(err)}
	}
	if a.o.Overwrite {
		// Checked again: something else may have appeared at dst since
		// Create, and rename would replace a device as readily as a file.
		if err := checkDestination(a.dst, true); err != nil {
			return err
		}
	}
	if a.tmp == "" {
		err = a.placeUnnamed()
	} else {
		err = a.placeNamed()
	}
	if err != nil {
		return err
	}
	a.done = true
	a.f.Close() // synced already: a late error here changes nothing
	syncDir(filepath.Dir(a.dst))
	return nil
}

// placeUnnamed gives the unnamed file its name. Without Overwrite that is
// one linkat, which fails if dst exists. With Overwrite it links the file to
// a temporary name and renames that over dst, since linkat cannot replace.
func (a *File) placeUnnamed() error {
	if !a.o.Overwrite {
		if err := linkUnnamed(a.f, a.dst); err != nil {
			return placeError(a.dst, err)
		}
		return nil
	}
	for range 10 {
		tmp := tempName(a.dst)
		err := linkUnnamed(a.f, tmp)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return placeError(a.dst, err)
		}
		if err := os.Rename(tmp, a.dst); err != nil {
			os.Remove(tmp)
			return placeError(a.dst, err)
		}
		return nil
	}
	return &fs.PathError{Op: "create", Path: a.dst, Err: errors.New("no free temporary name")}
}

// link is os.Link; tests replace it to act as a file system without hard
// links.
var link = os.Link

// placeNamed moves the named temporary file to dst. With Overwrite it
// renames. Without, it hard-links and removes the temporary name, because a
// rename would silently replace a dst that appeared meanwhile. On a file
// system without hard links (some FUSE, SMB and exFAT mounts) it checks for
// dst and renames, which leaves a window of microseconds in which a new dst
// could be replaced.
func (a *File) placeNamed() error {
	if a.o.Overwrite {
		if err := os.Rename(a.tmp, a.dst); err != nil {
			return placeError(a.dst, err)
		}
		return nil
	}
	err := link(a.tmp, a.dst)
	if err == nil {
		os.Remove(a.tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return existsError(a.dst)
	}
	if _, err := os.Lstat(a.dst); err == nil {
		return existsError(a.dst)
	}
	if err := os.Rename(a.tmp, a.dst); err != nil {
		return placeError(a.dst, err)
	}
	return nil
}

// Abort discards the file: it closes it and removes its temporary name, if
// it has one. It may be called any number of times, also after Commit, when
// it does nothing.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	if a.tmp != "" {
		os.Remove(a.tmp)
	}
}

// checkDestination refuses an existing dst without overwrite, and one that
// is not a regular file or symlink with it.
func checkDestination(dst string, overwrite bool) error {
	fi, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: dst, Err: cause(err)}
	}
	if !overwrite {
		return existsError(dst)
	}
	if t := fi.Mode().Type(); t != 0 && t != fs.ModeSymlink {
		return &notRegularError{path: dst, what: describe(t)}
	}
	return nil
}

// describe names a file type for an error message.
func describe(t fs.FileMode) string {
	switch {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

type notRegularError struct{ path, what string }

func (e *notRegularError) Error() string {
	return e.path + " is " + e.what + "; refusing to replace it"
}

func (e *notRegularError) Is(target error) bool { return target == ErrNotRegular }

func existsError(dst string) error {
	return fmt.Errorf("%s exists; refusing to overwrite it: %w", dst, fs.ErrExist)
}

// placeError reports a failure to put the file at dst, naming dst.
func placeError(dst string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return existsError(dst)
	}
	return &fs.PathError{Op: "create", Path: dst, Err: cause(err)}
}

// cause strips the path from an *fs.PathError or *os.LinkError, whose path
// may be a temporary name the user never gave.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// syncDir makes the new directory entry durable. Some file systems refuse
// to sync a directory; the file itself is synced already, so that is not an
// error.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Temporary names are ".<base>.amscrypt-tmp-<16 hex digits>". The base is
// cut short so that the name stays within the usual 255-byte limit.
const (
	tempMarker  = ".amscrypt-tmp-"
	tempRandLen = 16
	maxTempBase = 200
)

func tempName(dst string) string {
	base := filepath.Base(dst)
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	var r [tempRandLen / 2]byte
	rand.Read(r[:])
	return filepath.Join(filepath.Dir(dst), "."+base+tempMarker+hex.EncodeToString(r[:]))
}

// isTempName reports whether name is one of this package's temporary names.
func isTempName(name string) bool {
	i := strings.LastIndex(name, tempMarker)
	if !strings.HasPrefix(name, ".") || i < 1 {
		return false
	}
	suffix := name[i+len(tempMarker):]
	if len(suffix) != tempRandLen {
		return false
	}
	_, err := hex.DecodeString(suffix)
	return err == nil && strings.ToLower(suffix) == suffix
}

// createTemp creates a new named temporary file for dst.
func createTemp(dst string, perm fs.FileMode) (*os.File, string, error) {
	for range 10 {
		name := tempName(dst)
		f, err := openExcl(name, dst, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary name")
}

// staleAge is how old a temporary file must be before it is even
// considered stale. Its creator locks it right after creating it; the age
// covers that moment. After it, the lock alone decides.
const staleAge = time.Minute

// removeStale removes the temporary files in dir that no live process
// holds, reporting each to removed. Failures only mean leftovers stay.
func removeStale(dir string, removed func(string)) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			if !isTempName(name) {
				continue
			}
			path := filepath.Join(dir, name)
			if removeIfStale(path) && removed != nil {
				removed(path)
			}
		}
		if err != nil {
			return
		}
	}
}

// removeIfStale removes path if it is an old enough regular file that no
// process holds locked.
func removeIfStale(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleAge {
		return false
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	// Held means in use; a file system without locks cannot tell, so the
	// file stays.
	if !tryLock(f) {
		return false
	}
	return os.Remove(path) == nil
}

// WritePrivate writes data to path with mode 0600, whole or not at all, and
// never over an existing file (the error matches fs.ErrExist). It serves key
// files and upload resume state.
func WritePrivate(path string, data []byte) error {
	f, err := Create(path, Options{Perm: 0o600})
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.File().Write(data); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: cause(err)}
	}
	return f.Commit()
}

// An Input is a file a command reads, named by the flag that gave it.
type Input struct {
	Flag, Path string
}

// NotAnInput returns an error matching ErrIsInput if dst is the same file as
// one of inputs (also through a link), so that an output never replaces a
// file the command reads, above all its key file, not even where
// overwriting is allowed. A dst that does not exist yet, or an input that
// cannot be read (its reader will say why), is not an error here.
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
			return &isInputError{dst: dst, in: in}
		}
	}
	return nil
}

type isInputError struct {
	dst string
	in  Input
}

func (e *isInputError) Error() string {
	return fmt.Sprintf("%s is the file given as %s %s; refusing to overwrite a file this command reads, even with --force", e.dst, e.in.Flag, e.in.Path)
}

func (e *isInputError) Is(target error) bool { return target == ErrIsInput }
