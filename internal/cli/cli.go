// Package cli holds what every amscrypt command shares: the environment a
// command runs in, the dispatcher with its exit statuses and one-line error
// rule, strict flag sets, @FILE arguments, the key-export and private-key
// flags, the one JSON document and the progress line. Commands
// stay thin: they parse flags, call the library and print one document.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// Exit statuses. A command killed by a signal exits 128 plus its number, as
// a shell reports it.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what a command may touch, so that tests can run commands in-process.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTerminal reports whether progress may be drawn on Stderr.
	IsTerminal bool
	// Program is the name commands are run under in messages ("amscrypt").
	Program string
}

// Warnf prints a one-line warning on stderr, prefixed with the program and
// command name.
func (e *Env) Warnf(cmd, format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s %s: warning: %s\n", e.Program, cmd, quote.OneLine(fmt.Sprintf(format, args...)))
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	Run     func(e *Env, args []string) error
}

// UsageError marks errors in how a command was called (exit status 2).
type UsageError struct{ Msg string }

func (u UsageError) Error() string { return u.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error { return UsageError{fmt.Sprintf(format, args...)} }

// signals are those that end a process by default and that a user or a
// terminal sends: each cancels the command's context so that it cleans up
// (no temporary or partial output survives) before the process exits.
// SIGPIPE is included so that a write to a closed pipe fails with EPIPE and
// the command unwinds, instead of the runtime killing the process mid-write;
// it counts only when standard output or error is the pipe that broke
// (see outputBroken), since every write to a socket its peer closed raises
// it too.
// graceAfterSignal is how long a signalled command may take to clean up.
const graceAfterSignal = 5 * time.Second

var signals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE}

// Main runs the command named by os.Args and exits with its status.
func Main(program string, cmds []Command) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, signals...)
	var got atomic.Value // the signal that stopped the command
	done := make(chan struct{})
	go func() {
		var sig syscall.Signal
		for sig == 0 {
			select {
			case s := <-sigs:
				// A SIGPIPE stops the command only when its own output
				// is gone; one from a closed network connection must not.
				if s != syscall.SIGPIPE || outputBroken() {
					sig = s.(syscall.Signal)
				}
			case <-done:
				return
			}
		}
		got.Store(sig)
		// A second signal of the same kind ends the process the default
		// way: an unnamed output file vanishes with it. Not SIGPIPE: the
		// writes still in flight to the broken pipe would each raise one
		// and kill the process before it says why (the one line).
		signal.Reset(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
		cancel()
		// A command blocked where no context reaches (opening a FIFO nobody
		// writes) must not outlive the signal: after a grace period for
		// cleaning up, exit anyway. Outputs are unnamed files until
		// committed, so nothing partial is left.
		time.Sleep(graceAfterSignal)
		fmt.Fprintf(os.Stderr, "%s: stopped by %s\n", program, signalName(sig))
		os.Exit(128 + int(sig))
	}()
	fi, err := os.Stderr.Stat()
	e := &Env{Ctx: ctx, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		IsTerminal: err == nil && fi.Mode()&os.ModeCharDevice != 0, Program: program}
	code := Run(e, cmds, os.Args[1:])
	close(done)
	signal.Stop(sigs)
	s, ok := got.Load().(syscall.Signal)
	if !ok && code != ExitOK && outputBroken() {
		// The command's write to its own closed stdout failed (EPIPE)
		// before the SIGPIPE it raised was seen: the same ending.
		s, ok = syscall.SIGPIPE, true
	}
	if ok {
		if code == ExitOK {
			// The command finished before it saw the signal; its output is
			// complete, so report success.
			os.Exit(code)
		}
		fmt.Fprintf(e.Stderr, "%s: stopped by %s; nothing partial was left behind\n", program, signalName(s))
		os.Exit(128 + int(s))
	}
	os.Exit(code)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return s.String()
}

// Run dispatches args to one of cmds and returns the exit status. It
// handles --help, help CMD and --version itself.
func Run(e *Env, cmds []Command, args []string) int {
	find := func(name string) *Command {
		for i := range cmds {
			if cmds[i].Name == name {
				return &cmds[i]
			}
		}
		return nil
	}
	if len(args) == 0 {
		usage(e.Stderr, e.Program, cmds)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(e.Stdout, e.Program, cmds)
		return ExitOK
	case "-version", "--version", "version":
		if len(args) > 1 {
			fmt.Fprintf(e.Stderr, "%s %s: takes no arguments\n", e.Program, args[0])
			return ExitUsage
		}
		fmt.Fprintln(e.Stdout, Version(e.Program))
		return ExitOK
	case "help":
		switch {
		case len(args) == 1:
			usage(e.Stdout, e.Program, cmds)
			return ExitOK
		case len(args) > 2:
			fmt.Fprintf(e.Stderr, "%s help: give one command name\n", e.Program)
			return ExitUsage
		}
		// help CMD is exactly CMD --help.
		args = []string{args[1], "--help"}
	}
	cmd := find(args[0])
	if cmd == nil {
		fmt.Fprintf(e.Stderr, "%s: unknown command %q (run %s --help)\n", e.Program, args[0], e.Program)
		return ExitUsage
	}
	err := cmd.Run(e, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	}
	var u UsageError
	if errors.As(err, &u) {
		// No stutter here either: "amscrypt restore: the output …", not
		// "amscrypt restore: restore: the output …".
		msg := strings.TrimPrefix(quote.OneLine(err.Error()), cmd.Name+": ")
		fmt.Fprintf(e.Stderr, "%s %s: %s (see %s %s --help)\n", e.Program, cmd.Name, msg, e.Program, cmd.Name)
		return ExitUsage
	}
	if e.Ctx != nil && e.Ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped by a signal: Main says so, in the one line.
		return ExitError
	}
	if e.Ctx != nil && errors.Is(err, syscall.EPIPE) && outputBroken() {
		// The command's own output is a pipe nobody reads: Main reports
		// the SIGPIPE, in the one line, not a write error besides it.
		return ExitError
	}
	msg := quote.OneLine(err.Error())
	if !strings.HasPrefix(msg, cmd.Name+": ") {
		// An error of the package the command is named after already
		// says "restore: …": "amscrypt restore: …", not "restore: restore:".
		msg = cmd.Name + ": " + msg
	}
	fmt.Fprintf(e.Stderr, "%s %s\n", e.Program, msg)
	return ExitError
}

func usage(w io.Writer, program string, cmds []Command) {
	fmt.Fprintf(w, "usage: %s <command> [flags]   (%s help <command> for its flags)\n\n", program, program)
	sorted := append([]Command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-11s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\n  %s --version prints the module version and VCS revision.\n", program)
}

// Version describes the running binary from its build information: the
// module version (a tag or pseudo-version with go install, "(devel)" in a
// checkout) and the VCS revision and time when the build recorded them.
func Version(program string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return program + " (no build information)"
	}
	s := program + " " + bi.Main.Version
	var rev, when, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			when = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev != "" {
		s += " revision " + rev + modified
		if when != "" {
			s += " " + when
		}
	} else {
		s += " (revision unknown: built without VCS information, e.g. -buildvcs=false)"
	}
	return s + " " + bi.GoVersion
}
