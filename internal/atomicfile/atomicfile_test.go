//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// modes runs f once per way of creating the file: unnamed (O_TMPFILE, on
// Linux where the test directory's file system has it), the named fallback,
// and the named fallback on a file system without hard links.
func modes(t *testing.T, f func(t *testing.T)) {
	for _, m := range []string{"unnamed", "named", "named without links"} {
		t.Run(m, func(t *testing.T) {
			if m == "unnamed" {
				if runtime.GOOS != "linux" {
					t.Skip("O_TMPFILE is Linux's")
				}
				dir, err := os.OpenRoot(t.TempDir())
				require.NoError(t, err)
				defer dir.Close()
				f, err := openUnnamed(dir, "x", 0o600)
				if errors.Is(err, errors.ErrUnsupported) {
					t.Skip("no O_TMPFILE on the test directory's file system")
				}
				require.NoError(t, err)
				f.Close()
			} else {
				noUnnamed = true
				t.Cleanup(func() { noUnnamed = false })
			}
			if m == "named without links" {
				link = func(*os.Root, string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
				t.Cleanup(func() { link = (*os.Root).Link })
			}
			f(t)
		})
	}
}

func create(t *testing.T, dst, data string, o Options) error {
	t.Helper()
	f, err := Create(dst, o)
	if err != nil {
		return err
	}
	defer f.Abort()
	_, err = f.File().WriteString(data)
	require.NoError(t, err)
	return f.Commit()
}

func TestCreateCommit(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "dst")

		f, err := Create(dst, Options{Perm: 0o640})
		require.NoError(t, err)
		_, err = f.File().WriteAt([]byte("one"), 0)
		require.NoError(t, err)
		if !noUnnamed {
			require.Empty(t, names(t, dir), "an unnamed file is visible before Commit")
		}
		require.NoError(t, f.Commit())
		f.Abort() // after Commit: nothing happens
		f.Abort()
		require.Equal(t, "one", read(t, dst))
		require.Equal(t, []string{"dst"}, names(t, dir))
		fi, err := os.Stat(dst)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o640), fi.Mode().Perm(), "Perm is applied past the umask")
		require.ErrorIs(t, f.Commit(), fs.ErrClosed)

		err = create(t, dst, "two", Options{})
		require.ErrorIs(t, err, fs.ErrExist)
		require.ErrorContains(t, err, dst)
		require.Equal(t, "one", read(t, dst), "replaced without Overwrite")
		require.Equal(t, []string{"dst"}, names(t, dir))

		require.NoError(t, create(t, dst, "three", Options{Overwrite: true}))
		require.Equal(t, "three", read(t, dst))
		require.Equal(t, []string{"dst"}, names(t, dir))
	})
}

// TestCommitRaces: a destination that appears between Create and Commit is
// never replaced without Overwrite.
func TestCommitRaces(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "dst")
		f, err := Create(dst, Options{})
		require.NoError(t, err)
		write(t, dst, "theirs")
		err = f.Commit()
		require.ErrorIs(t, err, fs.ErrExist)
		require.ErrorContains(t, err, dst)
		require.Equal(t, "theirs", read(t, dst))
		require.Equal(t, []string{"dst"}, names(t, dir))
		f.Abort()
	})
}

func TestAbort(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		f, err := Create(filepath.Join(dir, "dst"), Options{})
		require.NoError(t, err)
		_, err = f.File().WriteString("data")
		require.NoError(t, err)
		f.Abort()
		f.Abort()
		require.Empty(t, names(t, dir))
		require.ErrorIs(t, f.Commit(), fs.ErrClosed)
	})
}

func TestOverwriteSymlink(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		target, dst := filepath.Join(dir, "target"), filepath.Join(dir, "link")
		write(t, target, "target")
		require.NoError(t, os.Symlink(target, dst))
		require.ErrorIs(t, create(t, dst, "new", Options{}), fs.ErrExist)
		require.NoError(t, create(t, dst, "new", Options{Overwrite: true}))
		fi, err := os.Lstat(dst)
		require.NoError(t, err)
		require.True(t, fi.Mode().IsRegular(), "the link was not replaced")
		require.Equal(t, "new", read(t, dst))
		require.Equal(t, "target", read(t, target), "the link's target changed")
	})
}

func TestRefuseNotRegular(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	cases := []struct{ path, what string }{
		{sub, "is a directory"},
		{fifo, "is a named pipe"},
	}
	if _, err := os.Stat("/dev/full"); err == nil {
		cases = append(cases, struct{ path, what string }{"/dev/full", "/dev/full is a character device; refusing to replace it"})
	}
	for _, tc := range cases {
		_, err := Create(tc.path, Options{Overwrite: true})
		require.ErrorIs(t, err, ErrNotRegular, tc.path)
		require.ErrorContains(t, err, tc.what)
		require.ErrorContains(t, err, tc.path)
		_, err = Create(tc.path, Options{})
		require.ErrorIs(t, err, fs.ErrExist, tc.path)
		require.ErrorContains(t, err, tc.path)
	}
	require.ElementsMatch(t, []string{"sub", "fifo"}, names(t, dir))

	// Something not regular that appears after Create is refused by Commit.
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "dst")
		f, err := Create(dst, Options{Overwrite: true})
		require.NoError(t, err)
		require.NoError(t, os.Mkdir(dst, 0o700))
		require.ErrorIs(t, f.Commit(), ErrNotRegular)
		require.Equal(t, []string{"dst"}, names(t, dir))
	})
}

// TestErrorsNameDestination: a missing directory is reported for the path
// the caller gave, not a temporary name.
func TestErrorsNameDestination(t *testing.T) {
	modes(t, func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "missing", "out")
		_, err := Create(dst, Options{})
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.Equal(t, "create "+dst+": no such file or directory", err.Error())
	})
}

func TestStaleTempFiles(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "dst")
		old := time.Now().Add(-2 * staleAge)

		// Old but held by a live Create (here, ours).
		busy, err := Create(filepath.Join(dir, "busy"), Options{})
		require.NoError(t, err)
		defer busy.Abort()
		liveName := filepath.Join(dir, tempName("busy"))
		if busy.tmp != "" {
			liveName = filepath.Join(dir, busy.tmp)
		} else { // unnamed: give it a temporary name, as Overwrite's Commit does
			require.NoError(t, linkUnnamed(busy.f, busy.dir, filepath.Base(liveName)))
		}
		require.NoError(t, os.Chtimes(liveName, old, old))
		// A leftover of a dead process: old and unlocked.
		dead := filepath.Join(dir, tempName("dst"))
		write(t, dead, "partial")
		require.NoError(t, os.Chtimes(dead, old, old))
		// Fresh: its creator may not have locked it yet.
		fresh := filepath.Join(dir, tempName("other"))
		write(t, fresh, "partial")
		// Not ours, however old.
		foreign := filepath.Join(dir, ".dst.tmp-1234")
		write(t, foreign, "x")
		require.NoError(t, os.Chtimes(foreign, old, old))

		// The Create of busy read the directory a moment ago; the next
		// reading is a minute away, or in a new process, as here.
		var removed []string
		require.NoError(t, create(t, dst, "data", Options{RemovedStale: func(p string) { removed = append(removed, p) }}))
		require.Empty(t, removed)
		swept.Clear()
		require.NoError(t, create(t, dst+"2", "data", Options{RemovedStale: func(p string) { removed = append(removed, p) }}))
		require.Equal(t, []string{dead}, removed)
		require.ElementsMatch(t, []string{"dst", "dst2", filepath.Base(fresh), filepath.Base(liveName), filepath.Base(foreign)}, names(t, dir))
	})
}

func TestIsTempName(t *testing.T) {
	for name, want := range map[string]bool{
		tempName("movie.mp4"):              true,
		tempName(strings.Repeat("x", 255)): true,
		".a.amscrypt-tmp-0123456789abcdef": true,
		"a.amscrypt-tmp-0123456789abcdef":  false,
		".a.amscrypt-tmp-0123456789abcde":  false,
		".a.amscrypt-tmp-0123456789ABCDEF": false,
		".a.amscrypt-tmp-0123456789abcdeg": false,
		".a.tmp-123":                       false,
	} {
		require.Equal(t, want, isTempName(name), name)
	}
	require.LessOrEqual(t, len(filepath.Base(tempName("/d/"+strings.Repeat("x", 255)))), 255)
}

func TestWritePrivate(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "key")
		require.NoError(t, WritePrivate(path, []byte("one")))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

		require.ErrorIs(t, WritePrivate(path, []byte("two")), fs.ErrExist)
		require.Equal(t, "one", read(t, path))
		require.Equal(t, []string{"key"}, names(t, dir), "temporary files left behind")

		err = WritePrivate(filepath.Join(dir, "missing", "key"), []byte("x"))
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.NotContains(t, err.Error(), tempMarker)
		require.Equal(t, []string{"key"}, names(t, dir))
	})
}

// TestWritePrivateRefusesDash: "-" is standard output to the commands, and
// a key written to a file of that name would be a secret nobody looks for.
func TestWritePrivateRefusesDash(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.ErrorContains(t, WritePrivate("-", []byte("secret")), `file named "-"`)
	require.Empty(t, names(t, dir))
}

func TestNotAnInput(t *testing.T) {
	dir := t.TempDir()
	key, other, alias := filepath.Join(dir, "key.json"), filepath.Join(dir, "other"), filepath.Join(dir, "alias")
	write(t, key, "k")
	write(t, other, "o")
	require.NoError(t, os.Link(key, alias))
	inputs := []Input{{"--asset-file", ""}, {"--key-file", key}}

	err := NotAnInput(key, inputs...)
	require.ErrorIs(t, err, ErrIsInput)
	require.ErrorContains(t, err, "--key-file "+key)
	// Another name for the same file is the same file.
	require.ErrorIs(t, NotAnInput(alias, inputs...), ErrIsInput)
	require.ErrorContains(t, NotAnInput(alias, inputs...), "--key-file")
	require.NoError(t, NotAnInput(other, inputs...))
	require.NoError(t, NotAnInput(filepath.Join(dir, "new"), inputs...))
	// An input that does not exist is its reader's problem, not a match.
	require.NoError(t, NotAnInput(other, Input{"--key-file", filepath.Join(dir, "missing")}))
	require.Equal(t, "k", read(t, key))
}

// TestCreateInNeverLeavesRoot: directories are made 0700 on the way; a
// symbolic link where a directory goes, or at the file, is never followed,
// wherever it points, and the error names it.
func TestCreateInNeverLeavesRoot(t *testing.T) {
	base := t.TempDir()
	rootDir, victim := filepath.Join(base, "out"), filepath.Join(base, "victim")
	require.NoError(t, os.Mkdir(rootDir, 0o755))
	require.NoError(t, os.Mkdir(victim, 0o755))
	require.NoError(t, os.Symlink("../victim", filepath.Join(rootDir, "away")))
	require.NoError(t, os.Mkdir(filepath.Join(rootDir, "in"), 0o755))
	require.NoError(t, os.Symlink("in", filepath.Join(rootDir, "inside")))
	require.NoError(t, os.WriteFile(filepath.Join(rootDir, "file"), nil, 0o600))
	root, err := os.OpenRoot(rootDir)
	require.NoError(t, err)
	defer root.Close()

	f, err := CreateIn(root, "a/b/c.mp4", Options{})
	require.NoError(t, err)
	_, err = f.File().WriteString("data")
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	require.Equal(t, "data", read(t, filepath.Join(rootDir, "a/b/c.mp4")))
	for _, d := range []string{"a", "a/b"} {
		fi, err := os.Stat(filepath.Join(rootDir, d))
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), d)
	}
	r, err := OpenIn(root, "a/b/c.mp4")
	require.NoError(t, err)
	r.Close()

	for rel, want := range map[string]string{
		"away/x.mp4":     filepath.Join(rootDir, "away") + " is a symbolic link; not entered",
		"away/sub/x.mp4": filepath.Join(rootDir, "away") + " is a symbolic link; not entered",
		"inside/x.mp4":   filepath.Join(rootDir, "inside") + " is a symbolic link; not entered",
		"file/x.mp4":     filepath.Join(rootDir, "file") + " is a file, not a directory; not entered",
	} {
		_, err := CreateIn(root, rel, Options{})
		require.EqualError(t, err, want, rel)
		require.ErrorIs(t, err, ErrNotRegular)
		_, err = OpenIn(root, rel)
		require.EqualError(t, err, want, rel)
	}
	_, err = OpenIn(root, "away")
	require.EqualError(t, err, filepath.Join(rootDir, "away")+" is a symbolic link; not followed")
	_, err = OpenIn(root, "nothing/here")
	require.ErrorIs(t, err, fs.ErrNotExist)
	entries, err := os.ReadDir(victim)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.NoDirExists(t, filepath.Join(rootDir, "nothing"), "OpenIn made a directory")
}

// TestInside: a directory is inside itself and its subdirectories are
// inside it, also through a link and before they exist; a sibling whose
// name merely starts the same is not.
func TestInside(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		dir: true, filepath.Join(dir, "a", "b"): true, filepath.Join(link, "new"): true,
		dir + "-out": false, t.TempDir(): false,
	} {
		if got, err := Inside(path, dir); err != nil || got != want {
			t.Errorf("Inside(%q, %q) = %v, %v; want %v", path, dir, got, err, want)
		}
	}
}
