// Package child runs the programs a compare tool times (amscrypt, openssl,
// cp, shaka-packager) and reports what each cost: wall time, CPU time and
// peak RSS, from the child's own rusage.
package child

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Sample is what one run of a child cost.
type Sample struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	RSSKiB int64         // peak resident set (Linux reports KiB)
}

// Run runs argv with its output discarded and returns its cost; a failure
// carries the last lines of its standard error.
func Run(argv ...string) (Sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, LastLines(stderr.String(), 5))
	}
	return Usage(cmd.ProcessState, wall)
}

// Usage is the cost of a child that has exited, wall time given.
func Usage(ps *os.ProcessState, wall time.Duration) (Sample, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return Sample{}, errors.New("no rusage for the child")
	}
	return Sample{Wall: wall, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), RSSKiB: ru.Maxrss}, nil
}

// LastLines is the last n lines of s.
func LastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
