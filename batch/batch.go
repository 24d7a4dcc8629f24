package batch

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// Line is one asset of a batch file, one JSON object per line:
//
//	{"in":"DIR|URL","out":"DIR|URL","keys":["FILE",...]}
//
// In and Out are directories, container URLs or "@FILE" (a file holding
// one); relative paths are relative to the batch file's directory. The
// lines amscrypt inventory writes name a container as "@FILE#NAME", the
// container NAME of the account whose SAS URL FILE holds, so that no line
// holds a SAS (inventory.ReadRef resolves one); the open function given to
// Run decides what it takes.
type Line struct {
	In   string   `json:"in"`
	Out  string   `json:"out,omitempty"` // "" only for a batch that only checks
	Keys []string `json:"keys"`
}

// Asset is one restore's two ends and plan, as Run's open function
// makes them from a Line.
type Asset struct {
	Source restore.Source
	Sink   restore.Sink // nil with RunOptions.Check
	Plan   *keyexport.Plan
	// In and Out name the ends in a report: directories, or URLs without
	// their query (a SAS).
	In, Out string
}

// GaveUp returns the error of the asset's source or sink that storage
// failed for longer than it retries (a method GaveUp() error, as
// azblobcrypt.Container has), or nil.
func (a *Asset) GaveUp() error {
	for _, end := range []any{a.Source, a.Sink} {
		if g, ok := end.(interface{ GaveUp() error }); ok {
			if err := g.GaveUp(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Shard is the part of a batch one run restores: line L when L-1 is K
// modulo N (K counts from 0, as job arrays number their tasks), so that N
// machines share a batch with no coordination. The zero value is the whole
// batch.
type Shard struct{ K, N int }

// ParseShard reads "K/N" with 0 <= K < N.
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n || strings.ContainsAny(s, "+- ") {
		return Shard{}, fmt.Errorf("batch: shard %q is not K/N with 0 <= K < N, e.g. 0/4", s)
	}
	return Shard{k, n}, nil
}

// String returns "K/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Report is one line of a batch's output: the asset's report, or the
// error that kept it from running, with the ends named as in Asset. Line
// is the batch file's line, counted from 1 as editors do.
type Report struct {
	Line  int    `json:"line"`
	In    string `json:"in"`
	Out   string `json:"out,omitempty"`
	Error string `json:"error,omitempty"`
	*restore.Report
}

// Options tune Run: every asset is restored with RunOptions, and only the
// lines of Shard are read.
type Options struct {
	// RunOptions apply to every asset, but Workers is across the batch (0:
	// restore.Run's default for the first asset's source), and Progress and
	// Pool are the batch's own.
	restore.RunOptions
	Shard Shard
	// Progress, if set, is called one call at a time: assets done of the
	// shard's, how many are sized (listed, heads checked), and bytes done of
	// the sized assets' total.
	Progress func(assetsDone, sized, assets int, done, total int64)
}

// Run restores the assets of the batch file at path (JSON lines, see Line)
// that belong to opts.Shard, several at once, their files sharing one
// restore.Pool of Workers: memory stays one restore.Run's whatever the
// number of assets. open makes an asset of a line, its relative paths
// resolved; report is given each asset's line as it finishes, one call at
// a time (not in line order). A bad line or a failed asset is reported and the rest go on; the
// error then counts them. An asset whose source or sink gave up
// (Asset.GaveUp) stops the batch, since the next lines would each wait as
// long again: no asset starts after it, those in flight finish, and the shard
// is simply run again later. It returns how many assets the shard holds (0
// for an empty batch or shard: nothing to do).
func Run(ctx context.Context, path string, open func(context.Context, Line) (*Asset, error),
	report func(*Report) error, opts *Options) (int, error) {
	b := &batch{path: path, open: open, report: report}
	if opts != nil {
		b.o = *opts
	}
	if b.o.Shard == (Shard{}) {
		b.o.Shard.N = 1
	}
	if b.o.Shard.K < 0 || b.o.Shard.K >= b.o.Shard.N || b.o.Workers < 0 || b.o.Workers > restore.MaxWorkers {
		return 0, fmt.Errorf("batch: %w: shard %s, Workers %d (0 to %d)", blobcrypt.ErrInvalidOptions, b.o.Shard, b.o.Workers, restore.MaxWorkers)
	}
	// The shard's lines are read once, so that a pipe (<(…)) serves as
	// well as a file; a line is small, and the count gives progress its
	// total.
	type line struct {
		n    int
		data []byte
	}
	var lines []line
	if err := b.scan(func(n int, data []byte) { lines = append(lines, line{n, bytes.Clone(data)}) }); err != nil {
		return 0, err
	}
	b.assets = len(lines)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.cancel = cancel
	// An asset waiting for the pool holds only its listing and plan; twice
	// as many assets as large files in flight overlap listings with transfers.
	var g errgroup.Group
	g.SetLimit(2 * max(b.o.Workers, runtime.GOMAXPROCS(0)))
	for _, l := range lines {
		if b.stopped() || runCtx.Err() != nil {
			break
		}
		g.Go(func() error { b.run(runCtx, l.n, l.data); return nil })
	}
	g.Wait()
	if err := cmp.Or(b.stop, ctx.Err()); err != nil {
		return b.assets, err
	}
	if b.failed > 0 {
		return b.assets, fmt.Errorf("batch: %d of the %d assets of shard %s did not restore completely (see their report lines)", b.failed, b.assets, b.o.Shard)
	}
	return b.assets, nil
}

// batch is one Run.
type batch struct {
	path   string
	open   func(context.Context, Line) (*Asset, error)
	report func(*Report) error
	o      Options
	assets int
	cancel func()
	once   sync.Once // makes pool
	pool   *restore.Pool

	mu                sync.Mutex // guards what follows, and calls of report and Progress
	failed            int
	stop              error // a give-up, a failed report or a cancelled run
	assetsDone, sized int   // for Progress
	done, total       int64
}

// scan calls fn with each non-blank line of the shard, numbered from 1.
func (b *batch) scan(fn func(line int, data []byte)) error {
	// O_NONBLOCK: a FIFO nobody writes reads as empty instead of blocking
	// in open(2) until a signal; one with a writer is read as usual.
	f, err := os.OpenFile(b.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 64<<10), smallfile.Max)
	for i := 0; lines.Scan(); i++ {
		if i%b.o.Shard.N == b.o.Shard.K && strings.TrimSpace(lines.Text()) != "" {
			fn(i+1, lines.Bytes())
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("batch: %s: %w", b.path, err)
	}
	return nil
}

func (b *batch) stopped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stop != nil
}

// run restores the asset of one line and reports it, unless the batch
// stopped while it waited to start.
func (b *batch) run(ctx context.Context, line int, data []byte) {
	if b.stopped() {
		return
	}
	rep := &Report{Line: line}
	sized, last := false, int64(0)
	ro := b.o.RunOptions
	ro.Progress = func(_, _ int, done, total int64) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if !sized {
			sized, b.sized, b.total = true, b.sized+1, b.total+total
		}
		b.done, last = b.done+done-last, done
		b.progress()
	}
	a, err := b.runLine(ctx, data, rep, &ro)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil && ctx.Err() != nil {
		b.stop = cmp.Or(b.stop, err)
		return
	}
	if err != nil {
		rep.Error = quote.OneLine(fmt.Sprintf("batch: %s line %d: %v", b.path, line, err))
	}
	if err != nil || !rep.OK() {
		b.failed++
	}
	if !sized {
		b.sized++
	}
	b.assetsDone++
	b.progress()
	if err := b.report(rep); err != nil {
		b.stop = cmp.Or(b.stop, err)
		b.cancel()
	} else if a != nil && b.stop == nil && a.GaveUp() != nil {
		b.stop = fmt.Errorf("%w; stopped the batch after line %d, run the same command again to resume", a.GaveUp(), line)
	}
}

func (b *batch) progress() {
	if b.o.Progress != nil {
		b.o.Progress(b.assetsDone, b.sized, b.assets, b.done, b.total)
	}
}

// runLine restores the asset of one line into rep, returning the asset
// once it was opened.
func (b *batch) runLine(ctx context.Context, data []byte, rep *Report, opts *restore.RunOptions) (*Asset, error) {
	var l Line
	if err := jsonstrict.Decode(data, &l); err != nil {
		return nil, err
	}
	rep.In = redactQuery(l.In)
	if l.In == "" || len(l.Keys) == 0 || (l.Out == "" && !opts.Check) {
		return nil, errors.New(`"in", "keys" and (unless only checking) "out" are required`)
	}
	dir := filepath.Dir(b.path)
	l.In, l.Out = linepath(dir, l.In), linepath(dir, l.Out)
	for j, k := range l.Keys {
		l.Keys[j] = linepath(dir, k)
	}
	a, err := b.open(ctx, l)
	if err != nil {
		return nil, err
	}
	rep.In, rep.Out = redactQuery(a.In), redactQuery(a.Out)
	b.once.Do(func() { b.pool = restore.NewPool(b.o.Workers, a.Source) })
	opts.Pool = b.pool
	rep.Report, err = restore.Run(ctx, a.Sink, a.Source, a.Plan, opts)
	return a, err
}

// linepath makes a relative path of a batch line, or of its "@FILE",
// relative to dir. URLs (anything with "://"), absolute paths and ""
// are left as they are.
func linepath(dir, p string) string {
	at, path := "", p
	if strings.HasPrefix(p, "@") {
		at, path = "@", p[1:]
	}
	if path == "" || strings.Contains(path, "://") || filepath.IsAbs(path) {
		return p
	}
	return at + filepath.Join(dir, path)
}

// redactQuery is quote.URL for a URL (a line's "in" or "out"); a directory
// is shown as it is.
func redactQuery(u string) string {
	if !strings.Contains(u, "://") {
		return u
	}
	return quote.URL(u)
}
