package restore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

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
// one); relative paths are relative to the batch file's directory. The
// amscrypt command also reads "@FILE#NAME", the container NAME of the
// account whose SAS URL FILE holds (what amscrypt inventory writes, so that
// no line holds a SAS); a Go program's open function decides for itself.
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
	RunOptions
	Shard Shard
}

// RunBatch restores the assets of the batch file at path (JSON lines, see
// BatchLine) that belong to opts.Shard, one after another, each with the
// whole pool of workers. open makes an asset of a line, its relative paths
// already resolved; report is given each asset's line, in order. A bad line
// or a failed asset is reported and the rest go on; the error then counts
// them. An asset whose source or sink gave up (Asset.GaveUp) stops the
// batch, since the next lines would each wait as long again: the shard is
// simply run again later, skipping what was restored. It returns how many
// assets the shard held (0 for an empty batch or shard: nothing to do).
func RunBatch(ctx context.Context, path string, open func(context.Context, BatchLine) (*Asset, error),
	report func(*BatchReport) error, opts *BatchOptions) (int, error) {
	var o BatchOptions
	if opts != nil {
		o = *opts
	}
	if o.Shard == (Shard{}) {
		o.Shard.N = 1
	}
	if o.Shard.K < 0 || o.Shard.K >= o.Shard.N {
		return 0, fmt.Errorf("restore: %w: shard %s", blobcrypt.ErrInvalidOptions, o.Shard)
	}
	// O_NONBLOCK: a FIFO nobody writes reads as empty instead of blocking
	// in open(2) until a signal; one with a writer is read as usual.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 64<<10), smallfile.Max)
	failed, n := 0, 0
	for i := 0; lines.Scan(); i++ {
		if i%o.Shard.N != o.Shard.K || strings.TrimSpace(lines.Text()) == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		n++
		rep := &BatchReport{Line: i + 1}
		a, err := runLine(ctx, lines.Bytes(), filepath.Dir(path), open, rep, &o.RunOptions)
		if err != nil {
			if ctx.Err() != nil {
				return n, err
			}
			rep.Error = strings.Join(strings.Fields(fmt.Sprintf("restore: %s line %d: %v", path, i+1, err)), " ")
		}
		if err != nil || !rep.OK() {
			failed++
		}
		if err := report(rep); err != nil {
			return n, err
		}
		if a != nil {
			if err := a.GaveUp(); err != nil {
				return n, fmt.Errorf("%w; stopped the batch after line %d, run the same command again to resume", err, i+1)
			}
		}
	}
	if err := lines.Err(); err != nil {
		return n, fmt.Errorf("restore: %s: %w", path, err)
	}
	if failed > 0 {
		return n, fmt.Errorf("restore: %d of the %d assets of shard %s did not restore completely (see their report lines)", failed, n, o.Shard)
	}
	return n, nil
}

// runLine restores the asset of one line into rep, returning the asset
// once it was opened.
func runLine(ctx context.Context, data []byte, dir string, open func(context.Context, BatchLine) (*Asset, error),
	rep *BatchReport, opts *RunOptions) (*Asset, error) {
	var l BatchLine
	if err := jsonstrict.Decode(data, &l); err != nil {
		return nil, err
	}
	rep.In = redactQuery(l.In)
	if l.In == "" || len(l.Keys) == 0 || (l.Out == "" && !opts.Check) {
		return nil, errors.New(`"in", "keys" and (unless only checking) "out" are required`)
	}
	l.In, l.Out = linepath(dir, l.In), linepath(dir, l.Out)
	for j, k := range l.Keys {
		l.Keys[j] = linepath(dir, k)
	}
	a, err := open(ctx, l)
	if err != nil {
		return nil, err
	}
	rep.In, rep.Out = redactQuery(a.In), redactQuery(a.Out)
	rep.Report, err = Run(ctx, a.Sink, a.Source, a.Plan, opts)
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
