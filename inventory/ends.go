package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// End is one side of a migration as the batch lines name it: a directory
// of containers, or an account reached through its SAS URL. No batch line
// holds a SAS: a line names a container of an account as "@FILE#NAME",
// FILE holding the account's URL (see Ref and ParseRef).
type End struct {
	// Name names the end ("in", "dest"); a URL given as is is written to
	// Name+".url" in the inventory's directory (URLFile).
	Name string
	// Dir is the directory, absolute; "" for an account.
	Dir string
	// URL is the account URL with its SAS; "" for a directory.
	URL string
	// File is the absolute path of the file URL was read from, or "" for
	// a URL given as is.
	File string
}

// NewEnd returns the end name of v, a directory or an account URL
// (http:// or https://) read from file ("" when v was given as is).
func NewEnd(name, v, file string) (*End, error) {
	e := &End{Name: name}
	var err error
	switch {
	case !IsURL(v):
		e.Dir, err = filepath.Abs(v)
	case file != "":
		e.URL = v
		e.File, err = filepath.Abs(file)
	default:
		e.URL = v
	}
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return e, nil
}

// IsURL tells a storage URL from a directory.
func IsURL(v string) bool {
	return strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://")
}

// URLFile is the file in an inventory's directory that a URL given as is
// goes to.
func (e *End) URLFile() string { return e.Name + ".url" }

// Ref names the container name of the end in a batch line: its
// subdirectory, "@FILE#NAME", or "@NAME.url#NAME" for a URL given as is,
// relative to the batch file beside it.
func (e *End) Ref(container string) string {
	switch {
	case e.Dir != "":
		return filepath.Join(e.Dir, container)
	case e.File != "":
		return "@" + e.File + "#" + container
	}
	return "@" + e.URLFile() + "#" + container
}

// ParseRef splits "@FILE#NAME" at its last '#'; ok is false for anything
// else (a plain "@FILE", whose name may hold a '#' not at its end).
func ParseRef(v string) (file, container string, ok bool) {
	rest, ok := strings.CutPrefix(v, "@")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '#')
	if i <= 0 || i == len(rest)-1 || strings.ContainsAny(rest[i+1:], "/\\") {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// ReadRef resolves a batch line's "@FILE#NAME" (ParseRef): the URL of the
// container NAME of the account whose SAS URL FILE holds, as containerURL
// (azblobcrypt.ContainerURL) makes it. ok is false for anything else, which
// is not read.
func ReadRef(v string, containerURL func(account, container string) (string, error)) (u string, ok bool, err error) {
	file, name, ok := ParseRef(v)
	if !ok {
		return "", false, nil
	}
	acct, err := smallfile.ReadLine(file)
	if err == nil && !IsURL(acct) {
		err = fmt.Errorf("%s holds no account URL for container %q", file, name)
	}
	if err == nil {
		u, err = containerURL(acct, name)
	}
	return u, true, err
}

// EndRefs returns the Refs of batch lines from in to dest (nil: no
// destination, for a batch that only checks).
func EndRefs(in, dest *End) Refs {
	return func(container string) (string, string) {
		if dest == nil {
			return in.Ref(container), ""
		}
		return in.Ref(container), dest.Ref(container)
	}
}

// SameAccount reports whether two ends are the same account.
func SameAccount(a, b *End) bool {
	ua, err1 := url.Parse(a.URL)
	ub, err2 := url.Parse(b.URL)
	return a.URL != "" && b.URL != "" && err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimSuffix(ua.Path, "/") == strings.TrimSuffix(ub.Path, "/")
}

// CheckURLFile refuses, before any work, a directory whose URLFile exists
// with another URL, unless force. Only a URL given as is has one.
func (e *End) CheckURLFile(dir string, force bool) error {
	if e.URL == "" || e.File != "" || force {
		return nil
	}
	path := filepath.Join(dir, e.URLFile())
	line, err := smallfile.ReadLine(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case line != e.URL:
		return fmt.Errorf("%s already exists with another URL; refusing to overwrite it (--force replaces it)", path)
	}
	return nil
}

// WriteURLFile writes a URL given as is to its URLFile in dir, mode 0600,
// for the batch lines to refer to; it returns the path, or "" for none.
func (e *End) WriteURLFile(dir string, force bool) (string, error) {
	if e.URL == "" || e.File != "" {
		return "", nil
	}
	path := filepath.Join(dir, e.URLFile())
	if line, err := smallfile.ReadLine(path); err == nil && line == e.URL {
		return path, nil
	}
	f, err := atomicfile.Create(path, atomicfile.Options{Perm: 0o600, Overwrite: force})
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := f.File().Write([]byte(e.URL + "\n")); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
	}
	return path, f.Commit()
}
