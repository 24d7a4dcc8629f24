package restore

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

	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyexport"
)

// BatchLine is one asset of a batch file, one JSON object per line:
//
//	{"in":"DIR|URL","out":"DIR|URL","keys":["FILE",...]}
//
// In and Out are directories, container URLs or "@FILE" (a file holding
// one); relative paths are relative to the batch file's directory.
type BatchLine struct {
	In   string   `json:"in"`
	Out  string   `json:"out"`
	Keys []string `json:"keys"`
}

// Asset is one restore's two ends and plan, as RunBatch's open function
// makes them from a BatchLine.
type Asset struct {
	Source Source
	Sink   Sink // nil with RunOptions.Check
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
// modulo N (K counts from 0, as job arrays number their tasks), so that N machines share a batch with no
// coordination. The zero value is the whole batch.
type Shard struct{ K, N int }

// ParseShard reads "K/N" with 0 <= K < N.
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n || strings.ContainsAny(s, "+- ") {
		return Shard{}, fmt.Errorf("restore: shard %q is not K/N with 0 <= K < N, e.g. 0/4", s)
	}
	return Shard{k, n}, nil
}

// String returns "K/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// BatchReport is one line of a batch's output: the asset's report, or the
// error that kept it from running, with the ends named as in Asset. Line
// is the batch file's line, counted from 1 as editors do.
type BatchReport struct {
	Line  int    `json:"line"`
	In    string `json:"in"`
	Out   string `json:"out,omitempty"`
	Error string `json:"error,omitempty"`
	*Report
}

// BatchOptions tune RunBatch: every asset is restored with RunOptions, and
// only the lines of Shard are read.
type BatchOptions struct {
	// RunOptions apply to every asset, but for Workers, which is the files
	// in flight across the whole batch (0: Run's default for the first
	// asset's source), and Progress, which must be nil: a batch reports
	// through BatchOptions.Progress.
	RunOptions
	Shard Shard
	// Progress, if set, is called from one goroutine at a time as assets
	// finish and bytes are restored: assets done of the shard's, how many
	// assets' sizes are known (an asset's once its source is listed and its
	// heads checked), and bytes done of the sum of those sizes.
	Progress func(assetsDone, sized, assets int, done, total int64)
}

// RunBatch restores the assets of the batch file at path (JSON lines, see
// BatchLine) that belong to opts.Shard, several at once: every asset's files
// take turns in one pool of Workers files in flight, so memory stays what
// one Run's takes whatever the number of assets, and small assets do not
// wait for each other. open makes an asset of a line, its relative paths
// already resolved; report is given each asset's line as the asset finishes,
// one at a time (so not in line order: BatchReport.Line says which). A bad
// line or a failed asset is reported and the rest go on; the error then
// counts them. An asset whose source or sink gave up (Asset.GaveUp) stops
// the batch: no asset starts after it, those in flight finish, since the
// next lines would each wait as long again; the shard is simply run again
// later, skipping what was restored. It returns how many assets the shard
// holds (0 for an empty batch or shard: nothing to do).
func RunBatch(ctx context.Context, path string, open func(context.Context, BatchLine) (*Asset, error),
	report func(*BatchReport) error, opts *BatchOptions) (int, error) {
	b := &batch{path: path, open: open, report: report}
	if opts != nil {
		b.o = *opts
	}
	if b.o.Shard == (Shard{}) {
		b.o.Shard.N = 1
	}
	switch {
	case b.o.Shard.K < 0 || b.o.Shard.K >= b.o.Shard.N:
		return 0, fmt.Errorf("restore: %w: shard %s", blobcrypt.ErrInvalidOptions, b.o.Shard)
	case b.o.Workers < 0 || b.o.Workers > MaxWorkers:
		return 0, fmt.Errorf("restore: %w: Workers %d is not 0 to %d", blobcrypt.ErrInvalidOptions, b.o.Workers, MaxWorkers)
	case b.o.RunOptions.Progress != nil:
		return 0, fmt.Errorf("restore: %w: a batch reports progress through BatchOptions.Progress", blobcrypt.ErrInvalidOptions)
	}
	// A first pass counts the shard's assets, for the progress line, rather
	// than holding every line of a large batch in memory.
	if err := b.scan(func(int, []byte) bool { b.assets++; return true }); err != nil {
		return 0, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.cancel = cancel
	// Assets whose files wait for a slot hold only their listing and plan;
	// twice as many as files in flight lets listings and head checks
	// overlap other assets' transfers.
	var g errgroup.Group
	g.SetLimit(2 * max(b.o.Workers, runtime.GOMAXPROCS(0)))
	err := b.scan(func(line int, data []byte) bool {
		if b.stopped() || runCtx.Err() != nil {
			return false
		}
		data = bytes.Clone(data)
		g.Go(func() error { b.run(runCtx, line, data); return nil })
		return true
	})
	g.Wait()
	switch {
	case b.err != nil:
		return b.assets, b.err
	case ctx.Err() != nil:
		return b.assets, ctx.Err()
	case err != nil:
		return b.assets, err
	case b.gaveUp != nil:
		return b.assets, b.gaveUp
	case b.failed > 0:
		return b.assets, fmt.Errorf("restore: %d of the %d assets of shard %s did not restore completely (see their report lines)", b.failed, b.assets, b.o.Shard)
	}
	return b.assets, nil
}

// batch is one RunBatch.
type batch struct {
	path   string
	open   func(context.Context, BatchLine) (*Asset, error)
	report func(*BatchReport) error
	o      BatchOptions
	assets int
	cancel func()

	mu     sync.Mutex // guards what follows, and calls of report and Progress
	slots  chan struct{}
	failed int
	gaveUp error // the first asset's whose storage gave up
	err    error // a failed report or a cancelled run: stops the batch
	// Progress: assets done, and sized (listed), bytes done of their total.
	assetsDone, sized int
	done, total       int64
}

// scan calls fn with each non-blank line of the shard, numbered from 1,
// until fn returns false.
func (b *batch) scan(fn func(line int, data []byte) bool) error {
	f, err := os.Open(b.path)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 64<<10), smallfile.Max)
	for i := 0; lines.Scan(); i++ {
		if i%b.o.Shard.N == b.o.Shard.K && strings.TrimSpace(lines.Text()) != "" && !fn(i+1, lines.Bytes()) {
			return nil
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("restore: %s: %w", b.path, err)
	}
	return nil
}

func (b *batch) stopped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gaveUp != nil || b.err != nil
}

// pool returns the batch's slots, made for the first asset to ask.
func (b *batch) pool(src Source) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.slots == nil {
		b.slots = make(chan struct{}, cmp.Or(b.o.Workers, defaultWorkers(src)))
	}
	return b.slots
}

// run restores the asset of one line and reports it.
func (b *batch) run(ctx context.Context, line int, data []byte) {
	if b.stopped() {
		return // queued before a give-up
	}
	rep := &BatchReport{Line: line}
	sized, last := false, int64(0)
	ro := b.o.RunOptions
	ro.Progress = func(_, _ int, done, total int64) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if !sized {
			sized = true
			b.sized++
			b.total += total
		}
		b.done += done - last
		last = done
		b.progress()
	}
	a, err := b.runLine(ctx, data, rep, &ro)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil && ctx.Err() != nil {
		b.err = cmp.Or(b.err, err)
		return
	}
	if err != nil {
		rep.Error = strings.Join(strings.Fields(fmt.Sprintf("restore: %s line %d: %v", b.path, line, err)), " ")
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
		b.err = cmp.Or(b.err, err)
		b.cancel()
		return
	}
	if a != nil && b.gaveUp == nil {
		if err := a.GaveUp(); err != nil {
			b.gaveUp = fmt.Errorf("%w; stopped the batch after line %d, run the same command again to resume", err, line)
		}
	}
}

func (b *batch) progress() {
	if b.o.Progress != nil {
		b.o.Progress(b.assetsDone, b.sized, b.assets, b.done, b.total)
	}
}

// runLine restores the asset of one line into rep, returning the asset
// once it was opened.
func (b *batch) runLine(ctx context.Context, data []byte, rep *BatchReport, opts *RunOptions) (*Asset, error) {
	var l BatchLine
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
	rep.Report, err = run(ctx, a.Sink, a.Source, a.Plan, opts, b.pool(a.Source))
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

// redactQuery drops the query and fragment of a URL, where a SAS is.
func redactQuery(u string) string {
	if !strings.Contains(u, "://") {
		return u
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
