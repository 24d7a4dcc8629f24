package main

import (
	"fmt"
	"time"
)

// progressMinSize is the smallest file that gets a progress line: below a
// few hundred MB a run is over before a line would be worth reading.
const progressMinSize = 256 << 20

// progress draws "bytes, MB/s, ETA" on stderr, only when stderr is a
// terminal, the file is large, and --quiet was not given.
type progress struct {
	e       *env
	verb    string
	enabled bool
	start   time.Time
	last    time.Time
	drawn   bool
}

func newProgress(e *env, quiet bool, verb string) *progress {
	return &progress{e: e, verb: verb, enabled: !quiet && e.isTerminal, start: time.Now()}
}

func (p *progress) update(done, total int64) {
	if !p.enabled || total < progressMinSize {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done != total {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	eta := "--"
	if rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.e.stderr, "\ramscrypt %s: %s / %s  %.0f MB/s  ETA %s   ", p.verb, size(done), size(total), rate/1e6, eta)
	p.drawn = true
}

// finish ends the progress line so the next output starts on its own line.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.e.stderr)
	}
}

func size(n int64) string {
	const unit = 1 << 10
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
