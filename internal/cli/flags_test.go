package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestFlags() (*FlagSet, *string, *bool, *int, *Strings, *Size, *bytes.Buffer) {
	var out bytes.Buffer
	fs := NewFlags(&Env{Stdout: &out, Program: "amscrypt"}, "cmd", "[flags]")
	s := fs.String("cert", "", "a certificate")
	b := fs.Bool("force", false, "replace")
	n := fs.Int("workers", 4, "workers")
	fs.Alias("concurrency", "workers")
	var keys Strings
	fs.Var(&keys, "keys", "a key document (repeatable)")
	var size Size
	fs.SizeVar(&size, "block-size", "bytes")
	return fs, s, b, n, &keys, &size, &out
}

func TestFlagSetRefuses(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--cert", "a", "--cert", "b"}, "--cert is given twice; give it once"},
		{[]string{"--cert="}, "--cert is empty"},
		{[]string{"--cert", " \t"}, "--cert is empty"},
		{[]string{"--force", "--force"}, "--force is given twice"},
		{[]string{"--force=false", "--force"}, "--force is given twice"},
		{[]string{"--workers", "2", "--concurrency", "3"}, "--workers and --concurrency are the same flag"},
		{[]string{"--concurrency", "2", "--concurrency", "2"}, "--concurrency is given twice"},
		{[]string{"--workers", "x"}, `--workers: parse error`},
		{[]string{"--block-size", "4X"}, `"4X" is not a byte count`},
		{[]string{"--block-size", "-1"}, "not a byte count"},
		{[]string{"--block-size", "+1"}, "not a byte count"},
		{[]string{"--nope"}, "unknown flag --nope"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{}, "--cert is required"},
	} {
		fs, _, _, _, _, _, _ := newTestFlags()
		err := fs.Parse(tt.args, "cert")
		var u UsageError
		require.ErrorAs(t, err, &u, "%v", tt.args)
		require.ErrorContains(t, err, tt.want, "%v", tt.args)
	}
}

func TestFlagSetAccepts(t *testing.T) {
	fs, cert, force, workers, keys, size, _ := newTestFlags()
	require.NoError(t, fs.Parse([]string{"--cert", "c.pem", "--force", "--concurrency", "7", "--keys", "a", "--keys", "b", "--block-size", "4MiB"}, "cert"))
	require.Equal(t, "c.pem", *cert)
	require.True(t, *force)
	require.Equal(t, 7, *workers)
	require.True(t, fs.Given("workers") && fs.Given("concurrency"))
	require.False(t, fs.Given("cert2"))
	require.Equal(t, Strings{"a", "b"}, *keys)
	require.Equal(t, Size{N: 4 << 20, Set: true}, *size)
}

func TestFlagSetHelp(t *testing.T) {
	fs, _, _, _, _, _, out := newTestFlags()
	err := fs.Parse([]string{"--help"})
	require.True(t, errors.Is(err, flag.ErrHelp))
	require.Contains(t, out.String(), "usage: amscrypt cmd [flags]")
	require.Contains(t, out.String(), "-workers")
	require.NotContains(t, out.String(), "-concurrency int", "an alias is documented as a flag of its own")
	require.Contains(t, out.String(), "--concurrency is accepted for --workers")
	require.NotContains(t, out.String(), "panic")
	require.Contains(t, out.String(), "(default 4)")
	require.NotContains(t, out.String(), "default false")
}

func TestReadArg(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one")
	require.NoError(t, os.WriteFile(one, []byte("https://x/c?sig=s\n"), 0o600))
	two := filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(two, []byte("a\nb\n"), 0o600))
	v, err := ReadArg("@"+one, "url")
	require.NoError(t, err)
	require.Equal(t, "https://x/c?sig=s", v)
	v, err = ReadArg("plain", "url")
	require.NoError(t, err)
	require.Equal(t, "plain", v)
	_, err = ReadArg("@"+two, "url")
	require.ErrorContains(t, err, "exactly one line")
	_, err = ReadArg("@"+filepath.Join(dir, "missing"), "url")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestReadDirOrURL: a URL, from the command line or @FILE, and a directory
// as itself pass; a directory from @FILE, or a SAS without its scheme, is a
// usage error that does not quote the value.
func TestReadDirOrURL(t *testing.T) {
	dir := t.TempDir()
	url := filepath.Join(dir, "url")
	require.NoError(t, os.WriteFile(url, []byte("https://x/c?sig=SECRET\n"), 0o600))
	notURL := filepath.Join(dir, "dir")
	require.NoError(t, os.WriteFile(notURL, []byte("some/dir?sig=SECRET\n"), 0o600))
	for raw, want := range map[string]string{"@" + url: "https://x/c?sig=SECRET", "http://h/c": "http://h/c", "some/dir": "some/dir"} {
		v, err := ReadDirOrURL(raw, "in")
		require.NoError(t, err, raw)
		require.Equal(t, want, v)
	}
	for _, raw := range []string{"@" + notURL, "x.blob.core.windows.net/c?sv=1&sig=SECRET"} {
		_, err := ReadDirOrURL(raw, "in")
		require.ErrorAs(t, err, new(UsageError), raw)
		require.ErrorContains(t, err, "--in")
		require.NotContains(t, err.Error(), "SECRET")
	}
}

func TestRunHelpVersionAndErrors(t *testing.T) {
	var got []string
	cmds := []Command{{Name: "echo", Summary: "prints", Run: func(e *Env, args []string) error {
		fs := NewFlags(e, "echo", "--x X")
		x := fs.String("x", "", "a value")
		if err := fs.Parse(args, "x"); err != nil {
			return err
		}
		got = append(got, *x)
		if *x == "fail" {
			return errors.New("it failed\non two lines")
		}
		return nil
	}}}
	runIt := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(&Env{Stdout: &out, Stderr: &errb, Program: "amscrypt"}, cmds, args)
		return code, out.String(), errb.String()
	}
	code, out, _ := runIt("help", "echo")
	code2, out2, _ := runIt("echo", "--help")
	require.Equal(t, ExitOK, code)
	require.Equal(t, code2, code)
	require.Equal(t, out2, out)
	code, out, _ = runIt("--version")
	require.Equal(t, ExitOK, code)
	require.Contains(t, out, "amscrypt ")
	code, _, _ = runIt("--version", "--foo")
	require.Equal(t, ExitUsage, code)
	code, _, errs := runIt("echo", "--x", "fail")
	require.Equal(t, ExitError, code)
	require.Equal(t, "amscrypt echo: it failed on two lines\n", errs)
	code, _, errs = runIt("echo")
	require.Equal(t, ExitUsage, code)
	require.Equal(t, "amscrypt echo: --x is required (see amscrypt echo --help)\n", errs)
	code, _, _ = runIt("nope")
	require.Equal(t, ExitUsage, code)
	code, _, _ = runIt()
	require.Equal(t, ExitUsage, code)
	require.Equal(t, []string{"fail"}, got)
}

// TestRunSignalOneLine: a command ended by a cancelled context (a signal)
// prints nothing of its own; Main prints the one line that says why.
func TestRunSignalOneLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	e := &Env{Program: "amscrypt", Ctx: ctx, Stdout: io.Discard, Stderr: &errb}
	cmds := []Command{{Name: "x", Run: func(e *Env, _ []string) error { return fmt.Errorf("reading: %w", e.Ctx.Err()) }}}
	require.Equal(t, ExitError, Run(e, cmds, []string{"x"}))
	require.Empty(t, errb.String())
}

// TestRunNoStutter: an error of the package a command is named after is
// printed with the program's name before it, not the command's twice.
func TestRunNoStutter(t *testing.T) {
	var errb bytes.Buffer
	e := &Env{Program: "amscrypt", Ctx: context.Background(), Stdout: io.Discard, Stderr: &errb}
	cmds := []Command{
		{Name: "restore", Run: func(*Env, []string) error { return errors.New("restore: 1 of 2 assets failed") }},
		{Name: "manifest", Run: func(*Env, []string) error { return errors.New("keyexport: invalid document") }},
	}
	require.Equal(t, ExitError, Run(e, cmds, []string{"restore"}))
	require.Equal(t, "amscrypt restore: 1 of 2 assets failed\n", errb.String())
	errb.Reset()
	require.Equal(t, ExitError, Run(e, cmds, []string{"manifest"}))
	require.Equal(t, "amscrypt manifest: keyexport: invalid document\n", errb.String())
	// A usage error made from the package's own error neither.
	cmds = append(cmds, Command{Name: "serve", Run: func(*Env, []string) error { return Usagef("%v", errors.New("serve: bad option")) }})
	errb.Reset()
	require.Equal(t, ExitUsage, Run(e, cmds, []string{"serve"}))
	require.Equal(t, "amscrypt serve: bad option (see amscrypt serve --help)\n", errb.String())
}
