package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// PrintJSON writes v as the command's one JSON document on stdout.
func (e *Env) PrintJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Stdout, "%s\n", b)
	return err
}

// RemovedStale returns the function that says on stderr that writing an
// output of command cmd removed a temporary file a killed earlier run of
// ours had left.
func (e *Env) RemovedStale(cmd string) func(string) {
	return func(path string) {
		e.Warnf(cmd, "removed %s, a temporary file an earlier run left when it was killed", path)
	}
}

// RefuseExisting fails early, before any work, if path exists.
func RefuseExisting(path, what string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s %s already exists; refusing to overwrite it", what, path)
	}
	return nil
}

// ReadParsed reads a small file and parses it, prefixing errors with the
// path.
func ReadParsed[T any](path string, parse func([]byte) (T, error)) (T, error) {
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

// Duration defines a duration flag that takes min to max, def when not
// given.
func (fs *FlagSet) Duration(name string, def, min, max time.Duration, usage string) *time.Duration {
	d := def
	fs.Var(durationValue{&d, min, max}, name, usage)
	return &d
}

type durationValue struct {
	d        *time.Duration
	min, max time.Duration
}

func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < v.min || d > v.max {
		return fmt.Errorf("%q is not a duration from %v to %v (e.g. 30s, 10m)", s, v.min, v.max)
	}
	*v.d = d
	return nil
}

// IVFlag is the value of an IV flag (an unsigned decimal,
// contentkey.ParseIV): IV is nil until the flag is given. A malformed value
// is a usage error naming the flag.
type IVFlag struct{ IV *contentkey.IV }

// IV defines an IV flag.
func (fs *FlagSet) IV(name, usage string) *IVFlag {
	f := &IVFlag{}
	fs.Var(f, name, usage)
	return f
}

func (f *IVFlag) String() string {
	if f == nil || f.IV == nil {
		return ""
	}
	return f.IV.String()
}

// Set parses the IV.
func (f *IVFlag) Set(s string) error {
	iv, err := contentkey.ParseIV(s)
	if err != nil {
		return err
	}
	f.IV = &iv
	return nil
}
