package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/inventory"
)

// FlagSet is a command's flags. Beyond the flag package it refuses, as usage
// errors: a flag given twice (also under an alias), an empty or blank value
// for a flag that takes one (an unset "$VAR" must not switch a safeguard
// off), positional arguments, and missing required flags.
type FlagSet struct {
	*flag.FlagSet
	e        *Env
	synopsis string
	// group maps a flag name to the name its value is counted under, so
	// that an alias and its canonical flag count as one.
	group   map[string]string
	given   map[string]string // group -> the spelling first given
	problem error
}

// NewFlags returns the flag set of command name; synopsis is the text after
// "usage: amscrypt NAME" in --help.
func NewFlags(e *Env, name, synopsis string) *FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error, not just --help
	return &FlagSet{FlagSet: fs, e: e, synopsis: synopsis, group: map[string]string{}, given: map[string]string{}}
}

// Alias makes alias another spelling of the flag canonical, sharing its
// value. Giving both is "given twice".
func (fs *FlagSet) Alias(alias, canonical string) {
	f := fs.Lookup(canonical)
	if f == nil {
		panic("cli: alias of undefined flag " + canonical)
	}
	fs.Var(f.Value, alias, "the same as --"+canonical)
	fs.group[alias] = canonical
}

// Repeatable is implemented by flag values that may be given more than once
// (each use adds a value), such as Strings.
type Repeatable interface{ Repeatable() bool }

// Strings is a flag that may be repeated; each use appends its value.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set appends v.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// Repeatable reports that Strings may be given more than once.
func (s *Strings) Repeatable() bool { return true }

// checked wraps every flag's Value to count uses and refuse empty values.
type checked struct {
	flag.Value
	fs   *FlagSet
	name string
}

type checkedBool struct{ checked }

func (c checkedBool) IsBoolFlag() bool { return true }

func (c checked) Set(v string) error {
	fs := c.fs
	g := c.name
	if canon, ok := fs.group[g]; ok {
		g = canon
	}
	rep, _ := c.Value.(Repeatable)
	if prev, ok := fs.given[g]; ok && (rep == nil || !rep.Repeatable()) {
		if prev == c.name {
			fs.fail(Usagef("--%s is given twice; give it once", c.name))
		} else {
			fs.fail(Usagef("--%s and --%s are the same flag; give it once", prev, c.name))
		}
		return errRefused
	}
	fs.given[g] = c.name
	if _, isBool := c.Value.(interface{ IsBoolFlag() bool }); !isBool && strings.TrimSpace(v) == "" {
		fs.fail(Usagef("--%s is empty; give it a value or leave the flag out", c.name))
		return errRefused
	}
	if err := c.Value.Set(v); err != nil {
		fs.fail(Usagef("--%s: %v", c.name, err))
		return errRefused
	}
	return nil
}

var errRefused = errors.New("refused")

func (fs *FlagSet) fail(err error) {
	if fs.problem == nil {
		fs.problem = err
	}
}

// Help prints the command's usage on stdout.
func (fs *FlagSet) Help() {
	w := fs.e.Stdout
	fmt.Fprintf(w, "usage: %s %s %s\n\nflags:\n", fs.e.Program, fs.Name(), fs.synopsis)
	// Print each flag once, under its documented name; aliases are
	// accepted but not advertised.
	doc := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	var aliases []string
	fs.VisitAll(func(f *flag.Flag) {
		if canon, ok := fs.group[f.Name]; ok {
			aliases = append(aliases, fmt.Sprintf("--%s is accepted for --%s", f.Name, canon))
			return
		}
		v := f.Value
		switch c := v.(type) {
		case checked:
			v = c.Value
		case checkedBool:
			v = c.Value
		}
		// The flag package prints defaults by comparing with a zero value
		// of the Value's type, so it must see the original type.
		doc.Var(v, f.Name, f.Usage)
		doc.Lookup(f.Name).DefValue = f.DefValue
	})
	doc.SetOutput(w)
	doc.PrintDefaults()
	for _, a := range aliases {
		fmt.Fprintf(w, "  (%s)\n", a)
	}
}

// Parse parses args and checks that every flag in required was given.
// --help prints the usage and returns flag.ErrHelp.
func (fs *FlagSet) Parse(args []string, required ...string) error {
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case checked, checkedBool:
			return
		}
		c := checked{Value: f.Value, fs: fs, name: f.Name}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = checkedBool{c}
		} else {
			f.Value = c
		}
	})
	err := fs.FlagSet.Parse(args)
	switch {
	case fs.problem != nil:
		return fs.problem
	case errors.Is(err, flag.ErrHelp):
		fs.Help()
		return err
	case err != nil:
		return UsageError{strings.Replace(err.Error(), "flag provided but not defined: -", "unknown flag --", 1)}
	case fs.NArg() > 0:
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, name := range required {
		if !fs.Given(name) {
			return Usagef("--%s is required", name)
		}
	}
	return nil
}

// Given reports whether the flag name (or an alias of it) was set.
func (fs *FlagSet) Given(name string) bool {
	if canon, ok := fs.group[name]; ok {
		name = canon
	}
	_, ok := fs.given[name]
	return ok
}

// Size is a byte count flag that accepts K, M, G (powers of 1024, with or
// without "iB") after the number.
type Size struct {
	N   int64
	Set bool
}

func (s *Size) String() string { return strconv.FormatInt(s.N, 10) }

// Set parses v.
func (s *Size) setValue(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	s.N, s.Set = n, true
	return nil
}

// ParseSize reads a byte count: a whole number, optionally with K, M or G
// (powers of 1024, with or without "iB") after it.
func ParseSize(v string) (int64, error) {
	num, mul := v, int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(v, u.suffix) {
			num, mul = strings.TrimSuffix(v, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul || num == "" || num[0] == '+' {
		return 0, fmt.Errorf("%q is not a byte count (a whole number, optionally with K, M or G)", v)
	}
	return n * mul, nil
}

// SizeValue adapts a Size to flag.Value.
type sizeValue struct{ s *Size }

func (v sizeValue) String() string {
	if v.s == nil {
		return "0"
	}
	return v.s.String()
}
func (v sizeValue) Set(x string) error { return v.s.setValue(x) }

// SizeVar defines a byte-count flag.
func (fs *FlagSet) SizeVar(s *Size, name, usage string) { fs.Var(sizeValue{s}, name, usage) }

// ReadArg returns a flag's value, reading it from a file if it starts with
// "@", so that a SAS URL need not appear in the process list. The file must
// hold exactly one line.
func ReadArg(v, flagName string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	u, err := smallfile.ReadLine(v[1:])
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flagName, err)
	}
	return u, nil
}

// ReadDirOrURL is ReadArg for a flag that takes a directory or an http://
// or https:// URL (a SAS URL), refusing to take as a directory a value
// meant as a URL: one read from a file (@FILE is for SAS URLs), or one
// holding a SAS signature without its scheme. Taken as a directory it
// would be quoted in errors and reports, signature and all, and an output
// would go to a local directory named after it. The value is never quoted.
func ReadDirOrURL(raw, flagName string) (string, error) {
	v, err := ReadArg(raw, flagName)
	switch {
	case err != nil || inventory.IsURL(v):
		return v, err
	case strings.HasPrefix(raw, "@"):
		return "", Usagef("--%s: %s does not hold an http:// or https:// URL (@FILE is for container SAS URLs; give a directory as itself)", flagName, raw[1:])
	case strings.Contains(strings.ToLower(v), "sig="):
		return "", Usagef("--%s looks like a SAS URL without its https:// scheme; not taken as a directory", flagName)
	}
	return v, nil
}

// Workers defines --workers, with its alias --concurrency: how many things
// a command does at once, a whole number from 1 to max when given. def is
// the value when the flag is not given (0: the library's default, which
// usage names); 0 itself is never accepted from the command line.
func (fs *FlagSet) Workers(def, max int, usage string) *int {
	n := def
	fs.Var(countValue{&n, max}, "workers", usage)
	fs.Alias("concurrency", "workers")
	return &n
}

type countValue struct {
	n   *int
	max int
}

func (v countValue) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > v.max || s[0] == '+' {
		return fmt.Errorf("%q is not a whole number from 1 to %d", s, v.max)
	}
	*v.n = n
	return nil
}
