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
func (p *Progress) Update(done, total int64) { p.draw("", done, total, total, false) }

// UpdateFiles is Update with a files-done count in front, for whole assets.
func (p *Progress) UpdateFiles(filesDone, files int, done, total int64) {
	p.draw(fmt.Sprintf("%d/%d files  ", filesDone, files), done, total, total, false)
}

// UpdateBatch is Update with an assets-done count in front, for a batch
// whose bytes are known only as its assets are sized (listed): until all
// are, total is theirs and shown with a "+", and the ETA assumes the other
// assets are as large on average.
func (p *Progress) UpdateBatch(assetsDone, sized, assets int, done, total int64) {
	prefix, all := fmt.Sprintf("%d/%d assets  ", assetsDone, assets), total
	if sized < assets && sized > 0 {
		all = total * int64(assets) / int64(sized)
	}
	p.draw(prefix, done, total, all, sized < assets)
}

// draw shows done of total bytes, with a "+" if more is to come, and the
// ETA of all bytes.
func (p *Progress) draw(prefix string, done, total, all int64, more bool) {
	if !p.enabled || total < p.minSize {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done != all {
		return
	}
	p.last = now
	// The rate, and with it the ETA, is shown once there is one to speak
	// of: a second in, with bytes done.
	rate, eta := "-- MiB/s", "--"
	if elapsed := now.Sub(p.start).Seconds(); elapsed >= 1 && done > 0 {
		r := float64(done) / elapsed
		rate = size(int64(r)) + "/s"
		eta = time.Duration(float64(all-done) / r * float64(time.Second)).Round(time.Second).String()
	}
	plus := ""
	if more {
		plus = "+"
	}
	fmt.Fprintf(p.e.Stderr, "\r%s %s: %s%s / %s%s  %s  ETA %s   ", p.e.Program, p.cmd, prefix, size(done), size(total), plus, rate, eta)
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
