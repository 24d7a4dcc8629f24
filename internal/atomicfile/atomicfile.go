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
	"sync"
	"syscall"
	"time"

	"github.com/amscrypt/amscrypt/internal/reason"
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
	f    *os.File
	dir  *os.Root // the destination's directory, held open: every step is relative to it
	base string   // the destination's name in dir
	dst  string   // the destination as the caller knows it, for messages
	o    Options
	// tmp is the temporary file's name in dir, or "" for an unnamed
	// (O_TMPFILE) file, which has no name until Commit links it into place.
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
	dir, err := os.OpenRoot(filepath.Dir(dst))
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: dst, Err: cause(err)}
	}
	return start(dir, filepath.Base(dst), dst, o)
}

// CreateIn is Create for the file rel ('/'-separated) under root, which
// nothing of it may leave: each directory on the way is entered without
// following a symbolic link (one is an error naming it, matching
// ErrNotRegular) and made 0700 if missing. The destination's directory is
// held open from here to Commit, so a directory renamed or replaced by a
// link meanwhile cannot redirect the file.
func CreateIn(root *os.Root, rel string, o Options) (*File, error) {
	dir, base, err := walk(root, rel, true)
	if err != nil {
		return nil, err
	}
	return start(dir, base, filepath.Join(root.Name(), filepath.FromSlash(rel)), o)
}

// OpenIn opens the existing file rel ('/'-separated) under root to read,
// reaching it as CreateIn does: no symbolic link on the way or at rel is
// followed (one is an error naming it). The open does not block on a FIFO.
func OpenIn(root *os.Root, rel string) (*os.File, error) {
	dir, base, err := walk(root, rel, false)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	path := filepath.Join(root.Name(), filepath.FromSlash(rel))
	f, err := dir.OpenFile(base, os.O_RDONLY|syscallNoFollow|syscallNonBlock, 0)
	if err != nil {
		if fi, lerr := dir.Lstat(base); lerr == nil && fi.Mode().Type() == fs.ModeSymlink {
			return nil, &notRegularError{path: path, what: "a symbolic link", action: "not followed"}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: cause(err)}
	}
	return named(f, path)
}

// walk returns the directory of rel under root, each directory on the way
// entered without following a link (and made 0700 if missing and mkdir),
// and rel's last element.
func walk(root *os.Root, rel string, mkdir bool) (*os.Root, string, error) {
	dirs := strings.Split(rel, "/")
	dir, err := root.OpenRoot(".")
	path := root.Name()
	for _, d := range dirs[:len(dirs)-1] {
		if err != nil {
			break
		}
		path = filepath.Join(path, d)
		dir, err = enter(dir, d, path, mkdir)
	}
	if err != nil {
		return nil, "", err
	}
	return dir, dirs[len(dirs)-1], nil
}

// enter returns the directory name in dir, made 0700 if missing and mkdir,
// and closes dir. A symbolic link there is an error: it is never followed.
func enter(dir *os.Root, name, path string, mkdir bool) (*os.Root, error) {
	defer dir.Close()
	if mkdir {
		if err := dir.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, &fs.PathError{Op: "mkdir", Path: path, Err: cause(err)}
		}
	}
	fi, err := dir.Lstat(name)
	if err == nil && !fi.IsDir() {
		what := describe(fi.Mode().Type())
		switch fi.Mode().Type() {
		case fs.ModeSymlink:
			what = "a symbolic link"
		case 0:
			what = "a file, not a directory"
		}
		return nil, &notRegularError{path: path, what: what, action: "not entered"}
	}
	var sub *os.Root
	if err == nil {
		sub, err = dir.OpenRoot(name)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: cause(err)}
	}
	return sub, nil
}

// start starts the file base in dir, which the File then owns.
func start(dir *os.Root, base, dst string, o Options) (*File, error) {
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	o.Perm &= fs.ModePerm
	a := &File{dir: dir, base: base, dst: dst, o: o}
	fail := func(err error) (*File, error) {
		dir.Close()
		return nil, err
	}
	if err := a.checkDestination(o.Overwrite); err != nil {
		return fail(err)
	}
	a.removeStale()
	f, err := openUnnamed(dir, dst, o.Perm)
	if errors.Is(err, errors.ErrUnsupported) {
		f, a.tmp, err = a.createTemp()
	}
	if err != nil {
		return fail(&fs.PathError{Op: "create", Path: dst, Err: cause(err)})
	}
	a.f = f
	return finishCreate(a)
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
		if err := a.checkDestination(true); err != nil {
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
	a.syncDir()
	a.dir.Close()
	return nil
}

// placeUnnamed gives the unnamed file its name. Without Overwrite that is
// one linkat, which fails if dst exists. With Overwrite it links the file to
// a temporary name and renames that over dst, since linkat cannot replace.
func (a *File) placeUnnamed() error {
	if !a.o.Overwrite {
		if err := linkUnnamed(a.f, a.dir, a.base); err != nil {
			return placeError(a.dst, err)
		}
		return nil
	}
	for range 10 {
		tmp := tempName(a.base)
		err := linkUnnamed(a.f, a.dir, tmp)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return placeError(a.dst, err)
		}
		if err := a.dir.Rename(tmp, a.base); err != nil {
			a.dir.Remove(tmp)
			return placeError(a.dst, err)
		}
		return nil
	}
	return &fs.PathError{Op: "create", Path: a.dst, Err: errors.New("no free temporary name")}
}

// link is (*os.Root).Link; tests replace it to act as a file system
// without hard links.
var link = (*os.Root).Link

// placeNamed moves the named temporary file to dst. With Overwrite it
// renames. Without, it hard-links and removes the temporary name, because a
// rename would silently replace a dst that appeared meanwhile. On a file
// system without hard links (some FUSE, SMB and exFAT mounts) it checks for
// dst and renames, which leaves a window of microseconds in which a new dst
// could be replaced.
func (a *File) placeNamed() error {
	if a.o.Overwrite {
		if err := a.dir.Rename(a.tmp, a.base); err != nil {
			return placeError(a.dst, err)
		}
		return nil
	}
	err := link(a.dir, a.tmp, a.base)
	if err == nil {
		a.dir.Remove(a.tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return existsError(a.dst)
	}
	if _, err := a.dir.Lstat(a.base); err == nil {
		return existsError(a.dst)
	}
	if err := a.dir.Rename(a.tmp, a.base); err != nil {
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
		a.dir.Remove(a.tmp)
	}
	a.dir.Close()
}

// checkDestination refuses an existing dst without overwrite, and one that
// is not a regular file or symlink with it.
func (a *File) checkDestination(overwrite bool) error {
	dst := a.dst
	fi, err := a.dir.Lstat(a.base)
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

type notRegularError struct{ path, what, action string }

func (e *notRegularError) Error() string {
	if e.action == "" {
		e.action = "refusing to replace it"
	}
	return e.path + " is " + e.what + "; " + e.action
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
func (a *File) syncDir() {
	if d, err := a.dir.Open("."); err == nil {
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

func tempName(base string) string {
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	var r [tempRandLen / 2]byte
	rand.Read(r[:])
	return "." + base + tempMarker + hex.EncodeToString(r[:])
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

// createTemp creates a new named temporary file beside the destination.
func (a *File) createTemp() (*os.File, string, error) {
	for range 10 {
		name := tempName(a.base)
		f, err := a.dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, a.o.Perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		f, err = named(f, a.dst)
		if err != nil {
			a.dir.Remove(name)
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary name")
}

// staleAge is how old a temporary file must be before it is even
// considered stale. Its creator locks it right after creating it; the age
// covers that moment. After it, the lock alone decides.
const staleAge = time.Minute

// swept is when this process last looked for stale files in each
// directory (by absolute path).
var swept sync.Map

// removeStale removes the temporary files beside the destination that no
// live process holds, reporting each to Options.RemovedStale. Failures only
// mean leftovers stay. A directory is read at most once per staleAge: a
// file younger than that is never stale anyway, and reading it for every
// file created would cost a package of thousands of segments time that
// grows with the square of their number.
func (a *File) removeStale() {
	if key, err := filepath.Abs(filepath.Dir(a.dst)); err == nil {
		now := time.Now()
		if last, ok := swept.Load(key); ok && now.Sub(last.(time.Time)) < staleAge {
			return
		}
		swept.Store(key, now)
	}
	d, err := a.dir.Open(".")
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
			if removeIfStale(a.dir, name) && a.o.RemovedStale != nil {
				a.o.RemovedStale(filepath.Join(filepath.Dir(a.dst), name))
			}
		}
		if err != nil {
			return
		}
	}
}

// removeIfStale removes name in dir if it is an old enough regular file
// that no process holds locked.
func removeIfStale(dir *os.Root, name string) bool {
	fi, err := dir.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleAge {
		return false
	}
	f, err := dir.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	// Held means in use; a file system without locks cannot tell, so the
	// file stays.
	if !tryLock(f) {
		return false
	}
	return dir.Remove(name) == nil
}

// WritePrivate writes data to path with mode 0600, whole or not at all, and
// never over an existing file (the error matches fs.ErrExist). It serves key
// files and upload resume state.
//
// A path of "-" is refused: it means standard output to most commands, and a
// secret never goes there, nor into a file a user would not look for.
func WritePrivate(path string, data []byte) error {
	if path == "-" {
		return errors.New(`refusing to write a secret to a file named "-" (a key never goes to standard output); give a file name`)
	}
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

// Inside reports whether path is dir or lies inside it, also through
// symbolic links: both are compared in their absolute, link-free forms, a
// path that does not exist yet by the longest prefix that does. It is the
// directory's rule beside NotAnInput's: an output directory inside an
// input one would be read as part of it.
func Inside(path, dir string) (bool, error) {
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	return p == d || strings.HasPrefix(p, d+string(filepath.Separator)), nil
}

// resolve returns the absolute, symlink-free form of path, resolving the
// longest existing prefix of a path that does not exist yet.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			for i := len(rest) - 1; i >= 0; i-- {
				r = filepath.Join(r, rest[i])
			}
			return r, nil
		}
		if filepath.Dir(p) == p {
			return abs, nil
		}
		rest = append(rest, filepath.Base(p))
	}
}

// OpenInput opens a file a transfer reads, which must be a regular file:
// its size is the plan, and only a file can be read at offsets in
// parallel. It opens with O_NONBLOCK, so that a FIFO nobody writes is
// refused rather than blocking in open(2) (a regular file ignores the
// flag). Any other file is an error matching ErrNotRegular.
func OpenInput(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = reason.New(path+" is not a regular file", ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
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
