package cli

import (
	"fmt"
	"time"
)

// ProgressMinSize is the smallest file that gets a progress line: below a
// few hundred MB a local run is over before a line would be worth reading.
const ProgressMinSize = 256 << 20

// Progress draws "bytes, rate, ETA" (binary units throughout) on stderr, only when stderr is a
// terminal, the work is at least minSize bytes, and --quiet was not given.
type Progress struct {
	e       *Env
	cmd     string
	minSize int64
	enabled bool
	start   time.Time
	last    time.Time
	drawn   bool
}

// NewProgress returns the progress line of command cmd.
func NewProgress(e *Env, quiet bool, cmd string, minSize int64) *Progress {
	return &Progress{e: e, cmd: cmd, minSize: minSize, enabled: !quiet && e.IsTerminal, start: time.Now()}
}

// Update redraws the line (at most four times a second) for done of total
// bytes. It is a valid Progress callback for the library's options.
func (p *Progress) Update(done, total int64) { p.draw("", done, total) }

// UpdateFiles is Update with a files-done count in front, for whole assets.
func (p *Progress) UpdateFiles(filesDone, files int, done, total int64) {
	p.draw(fmt.Sprintf("%d/%d files  ", filesDone, files), done, total)
}

// UpdateCount redraws the line for done of total things (containers) with
// their rate and ETA, whatever minSize: for work counted in items, not bytes.
func (p *Progress) UpdateCount(what string, done, total int) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done != total {
		return
	}
	p.last = now
	rate, eta := "--/s", "--"
	if elapsed := now.Sub(p.start).Seconds(); elapsed >= 1 && done > 0 {
		r := float64(done) / elapsed
		rate = fmt.Sprintf("%.0f/s", r)
		eta = time.Duration(float64(total-done) / r * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.e.Stderr, "\r%s %s: %d/%d %s  %s  ETA %s   ", p.e.Program, p.cmd, done, total, what, rate, eta)
	p.drawn = true
}

func (p *Progress) draw(prefix string, done, total int64) {
	if !p.enabled || total < p.minSize {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done != total {
		return
	}
	p.last = now
	// The rate, and with it the ETA, is shown once there is one to speak
	// of: a second in, with bytes done.
	rate, eta := "-- MiB/s", "--"
	if elapsed := now.Sub(p.start).Seconds(); elapsed >= 1 && done > 0 {
		r := float64(done) / elapsed
		rate = size(int64(r)) + "/s"
		eta = time.Duration(float64(total-done) / r * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.e.Stderr, "\r%s %s: %s%s / %s  %s  ETA %s   ", p.e.Program, p.cmd, prefix, size(done), size(total), rate, eta)
	p.drawn = true
}

// Finish ends the progress line so the next output starts on its own line.
func (p *Progress) Finish() {
	if p.drawn {
		fmt.Fprintln(p.e.Stderr)
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
