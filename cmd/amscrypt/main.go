// Command amscrypt does the client-side cryptography of Azure Media Services
// v2 storage encryption: protection-certificate thumbprints, content-key
// generation, wrapping, unwrapping and checksums, and AES-256-CTR file
// encryption and decryption.
//
// Every command prints at most one JSON document or one value on standard
// output, so that it can be piped; diagnostics go to standard error as one
// line, and any failure exits non-zero without leaving a partial file.
// Secrets never come from flags that take a key value, except checksum's
// --key, which warns: key files and the AMSCRYPT_PFX_PASSWORD variable carry
// them instead.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// env holds what a command may touch, so tests can run commands in-process.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// isTerminal reports whether progress may be drawn on stderr.
	isTerminal bool
}

type command struct {
	summary string
	run     func(e *env, args []string) error
}

var commands = map[string]command{
	"thumbprint": {"print a certificate's thumbprint (ProtectionKeyId)", runThumbprint},
	"checksum":   {"print a content key's checksum", runChecksum},
	"keygen":     {"create a content key, wrap it, write the key file, print the ContentKey entity", runKeygen},
	"unwrap":     {"unwrap a ContentKey entity with a private key into a key file", runUnwrap},
	"rewrap":     {"wrap an existing content key to a new protection certificate", runRewrap},
	"encrypt":    {"encrypt a file and print the AssetFile MERGE body", runEncrypt},
	"decrypt":    {"decrypt a storage-encrypted file or byte range", runDecrypt},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, isTerminal: isTerminal(os.Stderr)}
	code := run(e, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// usageError marks errors in how a command was called (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := e.stderr
		code := exitUsage
		if len(args) > 0 {
			w, code = e.stdout, exitOK
		}
		mainUsage(w)
		return code
	}
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "amscrypt: unknown command %q (run amscrypt --help)\n", name)
		return exitUsage
	}
	err := cmd.run(e, args[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	fmt.Fprintf(e.stderr, "amscrypt %s: %s\n", name, oneLine(err.Error()))
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitError
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: amscrypt <command> [flags]   (amscrypt <command> --help for its flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
}

// oneLine keeps an error to the single line the CLI contract promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// flagSet is a command's flags and its --help text.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set for a command. Parse errors come back as usage
// errors; --help prints the command's usage on stdout (see parse).
func newFlags(e *env, name, synopsis string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error, not just --help
	return &flagSet{fs, func() {
		fmt.Fprintf(e.stdout, "usage: amscrypt %s %s\n\nflags:\n", name, synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}}
}

// parse parses args, refusing positional arguments, and checks that every
// flag in required was given a non-empty value.
func (fs *flagSet) parse(args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help()
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, name := range required {
		if f := fs.Lookup(name); f == nil || f.Value.String() == "" {
			return usagef("--%s is required", name)
		}
	}
	return nil
}

// readParsed reads a small file and parses it, prefixing errors with the path.
func readParsed[T any](path string, parse func([]byte) (T, error)) (T, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := parse(data)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// printJSON writes v as the command's one JSON document on stdout.
func printJSON(e *env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

// refuseExisting fails early, before any work, if path exists.
func refuseExisting(path, what string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s %s already exists; refusing to overwrite it", what, path)
	}
	return nil
}
