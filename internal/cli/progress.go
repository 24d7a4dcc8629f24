package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/amscrypt/amscrypt/internal/units"
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

// UpdateCount redraws the line for done of total things (containers) with
// their rate and ETA, whatever minSize: for work counted in items, not bytes.
func (p *Progress) UpdateCount(what string, done, total int) {
	if !p.enabled {
		return
	}
	if rate, eta, ok := p.tick(int64(done), int64(total), func(n int64) string { return strconv.FormatInt(n, 10) }); ok {
		p.printf("%d/%d %s  %s/s  ETA %s", done, total, what, rate, eta)
	}
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
	if rate, eta, ok := p.tick(done, all, size); ok {
		if rate == "--" {
			rate = "-- MiB" // the unit of the rate to come
		}
		plus := ""
		if more {
			plus = "+"
		}
		p.printf("%s%s / %s%s  %s/s  ETA %s", prefix, size(done), size(total), plus, rate, eta)
	}
}

// tick says whether to redraw now (at most four times a second, and
// always at the end) and gives the rate, in unit per second, and the ETA
// of done of all; both are "--" until there is a rate to speak of: a
// second in, with something done.
func (p *Progress) tick(done, all int64, unit func(int64) string) (rate, eta string, ok bool) {
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done != all {
		return "", "", false
	}
	p.last = now
	rate, eta = "--", "--"
	if elapsed := now.Sub(p.start).Seconds(); elapsed >= 1 && done > 0 {
		r := float64(done) / elapsed
		rate = unit(int64(r))
		eta = time.Duration(float64(all-done) / r * float64(time.Second)).Round(time.Second).String()
	}
	return rate, eta, true
}

// printf draws the line after the command's name.
func (p *Progress) printf(format string, args ...any) {
	fmt.Fprintf(p.e.Stderr, "\r%s %s: "+format+"   ", append([]any{p.e.Program, p.cmd}, args...)...)
	p.drawn = true
}

// Finish ends the progress line so the next output starts on its own line.
func (p *Progress) Finish() {
	if p.drawn {
		fmt.Fprintln(p.e.Stderr)
	}
}

func size(n int64) string { return units.Bytes(n) }
