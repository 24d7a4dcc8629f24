package batch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// seenMu guards the lines openDirs records: Run opens assets
// concurrently.
var seenMu sync.Mutex

// openDirs opens a batch line as directories, reading "@FILE" as the
// CLI does, and records every line it was given.
func openDirs(seen *[]batch.Line) func(context.Context, batch.Line) (*batch.Asset, error) {
	return func(_ context.Context, l batch.Line) (*batch.Asset, error) {
		seenMu.Lock()
		*seen = append(*seen, l)
		seenMu.Unlock()
		if strings.Contains(l.In, "://") {
			return nil, errors.New("this opener has no containers")
		}
		if in, ok := strings.CutPrefix(l.In, "@"); ok {
			b, err := os.ReadFile(in)
			if err != nil {
				return nil, err
			}
			l.In = strings.TrimSpace(string(b))
		}
		plan, err := keyexport.ReadPlan(l.Keys, nil)
		if err != nil {
			return nil, err
		}
		return &batch.Asset{Source: restore.Dir{Root: l.In}, Sink: restore.Dir{Root: l.Out}, Plan: plan, In: l.In, Out: l.Out}, nil
	}
}

func writeBatch(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, "batch.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return p
}

// TestRun: relative paths (and "@FILE"s) are resolved against the
// batch file's directory, bad lines are reported with 1-based line numbers
// and the rest go on, a SAS never reaches a report, and a shard runs only
// its lines.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	fix := func(p ...string) string { return filepath.Join(append([]string{testvectors.Dir, "restore"}, p...)...) }
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte(fix("live", "enc")+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys.json"), testvectors.Read(t, "restore/live/keys/v3.json"), 0o600))
	path := writeBatch(t, dir,
		fmt.Sprintf(`{"in":%q,"out":"out/vod","keys":[%q]}`, fix("vod", "enc"), fix("vod", "keys", "v3.json")),
		`{"in":"@in.txt","out":"out/live","keys":["keys.json"]}`,
		``,
		`{"in":"x","out":"y","keys":["k"],"in":"z"}`,
		`{"in":"https://acct.blob.core.windows.net/c?sv=1&sig=SECRET","out":"https://acct.blob.core.windows.net/d?sig=SECRET","keys":["k"]}`,
		`{"in":"x","out":"y"}`,
	)
	var seen []batch.Line
	var reports []batch.Report
	// Reports come as assets finish, one at a time; sorted by line here.
	collect := func(r *batch.Report) error {
		i, _ := slices.BinarySearchFunc(reports, r.Line, func(r batch.Report, l int) int { return r.Line - l })
		reports = slices.Insert(reports, i, *r)
		return nil
	}
	n, err := batch.Run(context.Background(), path, openDirs(&seen), collect, nil)
	require.Equal(t, 5, n)
	require.EqualError(t, err, "batch: 3 of the 5 assets of shard 0/1 did not restore completely (see their report lines)")

	require.ElementsMatch(t, []batch.Line{
		{In: fix("vod", "enc"), Out: filepath.Join(dir, "out", "vod"), Keys: []string{fix("vod", "keys", "v3.json")}},
		{In: "@" + filepath.Join(dir, "in.txt"), Out: filepath.Join(dir, "out", "live"), Keys: []string{filepath.Join(dir, "keys.json")}},
		{In: "https://acct.blob.core.windows.net/c?sv=1&sig=SECRET", Out: "https://acct.blob.core.windows.net/d?sig=SECRET", Keys: []string{filepath.Join(dir, "k")}},
	}, seen)
	require.Len(t, reports, 5)
	var lines []int
	for _, r := range reports {
		lines = append(lines, r.Line)
		require.NotContains(t, fmt.Sprintf("%+v", r), "SECRET")
	}
	require.Equal(t, []int{1, 2, 4, 5, 6}, lines)
	require.Equal(t, 12, reports[0].Summary[restore.StatusRestored])
	require.Equal(t, filepath.Join(dir, "out", "vod"), reports[0].Out)
	require.Equal(t, 9, reports[1].Summary[restore.StatusRestored])
	require.Equal(t, "batch: "+path+" line 4: duplicate JSON member $.in", reports[2].Error)
	require.Nil(t, reports[2].Report)
	require.Equal(t, "https://acct.blob.core.windows.net/c", reports[3].In)
	require.Contains(t, reports[3].Error, "line 5: this opener has no containers")
	require.Contains(t, reports[4].Error, `line 6: "in", "keys" and (unless only checking) "out" are required`)

	// Shard 1/2 runs lines 2, 4 and 6; line 2 is restored already.
	reports = nil
	_, err = batch.Run(context.Background(), path, openDirs(&seen), collect, &batch.Options{Shard: batch.Shard{K: 1, N: 2}})
	require.ErrorContains(t, err, "2 of the 3 assets of shard 1/2")
	require.Len(t, reports, 3)
	require.Equal(t, []int{2, 4, 6}, []int{reports[0].Line, reports[1].Line, reports[2].Line})
	require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 9}, reports[0].Summary)

	// With Check, "out" is optional and nothing is written.
	reports = nil
	check := writeBatch(t, t.TempDir(), fmt.Sprintf(`{"in":%q,"keys":[%q]}`, fix("vod", "enc"), fix("vod", "keys", "v3.json")))
	n, err = batch.Run(context.Background(), check, openDirs(&seen), collect, &batch.Options{RunOptions: restore.RunOptions{Check: true}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 12, reports[0].Summary[restore.StatusChecked])

	_, err = batch.Run(context.Background(), path, openDirs(&seen), collect, &batch.Options{Shard: batch.Shard{K: 2, N: 2}})
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
}

// gaveUpDir is a directory whose storage "gave up".
type gaveUpDir struct{ restore.Dir }

func (gaveUpDir) GaveUp() error { return errors.New("storage failed every try") }

// TestRunStopsWhenStorageGaveUp: once an asset's storage gave up, no
// asset starts (rather than waiting as long again on every next line);
// those already in flight finish and are reported.
func TestRunStopsWhenStorageGaveUp(t *testing.T) {
	dir := t.TempDir()
	line := fmt.Sprintf(`{"in":%q,"keys":[%q]}`, filepath.Join(testvectors.Dir, "restore", "vod", "enc"), filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json"))
	const lines = 40
	path := writeBatch(t, dir, slices.Repeat([]string{line}, lines)...)
	var seen []batch.Line
	open := func(ctx context.Context, l batch.Line) (*batch.Asset, error) {
		a, err := openDirs(&seen)(ctx, l)
		if err == nil {
			a.Source, a.Sink = gaveUpDir{a.Source.(restore.Dir)}, nil
		}
		return a, err
	}
	var reports []*batch.Report
	_, err := batch.Run(context.Background(), path, open, func(r *batch.Report) error { reports = append(reports, r); return nil },
		&batch.Options{RunOptions: restore.RunOptions{Check: true, Workers: 1}})
	require.Regexp(t, `^storage failed every try; stopped the batch after line [0-9]+, run the same command again to resume$`, err.Error())
	require.Len(t, reports, len(seen), "an asset started and not reported")
	inFlight := 2 * max(1, runtime.GOMAXPROCS(0)) // Run's assets in flight
	require.LessOrEqual(t, len(seen), inFlight, "assets started after the give-up")
	require.Less(t, inFlight, lines)
}

// chunkSize is TestRunSharesOnePool's RunOptions.ChunkSize.
const chunkSize = 4096

// countingDir is a directory sink that records the chunk buffers of the
// files being written at once, over every asset of a batch. The first file of asset 0 waits
// in Create for another asset to create one, for up to two seconds: if
// one does, two assets were in flight at once.
type countingDir struct {
	restore.Dir
	asset int
	c     *concurrency
}

type concurrency struct {
	mu              sync.Mutex
	files, max      int
	waited, waiting bool
	overlapped      bool
	overlap         chan struct{}
}

func (d countingDir) Create(ctx context.Context, rel string, info restore.OutputInfo) (restore.Output, error) {
	c := d.c
	c.mu.Lock()
	// The chunk buffers the file holds: one per chunkSize, up to 4 (a
	// directory's read parallelism, 1, x 2 + 2).
	w := max(1, min((info.Size+chunkSize-1)/chunkSize, 4))
	c.files += int(w)
	c.max = max(c.max, c.files)
	wait := d.asset == 0 && !c.waited
	if wait {
		c.waited, c.waiting = true, true
	} else if d.asset != 0 && c.waiting && !c.overlapped {
		c.overlapped = true
		close(c.overlap)
	}
	c.mu.Unlock()
	if wait {
		select {
		case <-c.overlap:
		case <-time.After(2 * time.Second):
		}
		c.mu.Lock()
		c.waiting = false
		c.mu.Unlock()
	}
	out, err := d.Dir.Create(ctx, rel, info)
	if err != nil {
		c.done(int(w))
		return nil, err
	}
	return &countedOutput{Output: out, c: c, w: int(w)}, nil
}

func (c *concurrency) done(w int) {
	c.mu.Lock()
	c.files -= w
	c.mu.Unlock()
}

type countedOutput struct {
	restore.Output
	c     *concurrency
	w     int
	ended bool
}

func (o *countedOutput) Commit(sum string) error {
	err := o.Output.Commit(sum)
	o.end()
	return err
}

func (o *countedOutput) Abort() { o.Output.Abort(); o.end() }

func (o *countedOutput) end() {
	if !o.ended {
		o.ended = true
		o.c.done(o.w)
	}
}

// TestRunSharesOnePool: assets run at once (a second asset writes
// while the first has not finished) and the chunk buffers of the files
// being written across all of them never exceed Workers large files'
// (x 4 for a directory); every asset is restored.
func TestRunSharesOnePool(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 6 {
		lines = append(lines, fmt.Sprintf(`{"in":%q,"out":"out/%d","keys":[%q]}`, filepath.Join(testvectors.Dir, "restore", "vod", "enc"), i, filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json")))
	}
	path := writeBatch(t, dir, lines...)
	c := &concurrency{overlap: make(chan struct{})}
	var seen []batch.Line
	open := func(ctx context.Context, l batch.Line) (*batch.Asset, error) {
		a, err := openDirs(&seen)(ctx, l)
		if err == nil {
			n, _ := strconv.Atoi(filepath.Base(l.Out))
			a.Sink = countingDir{Dir: a.Sink.(restore.Dir), asset: n, c: c}
		}
		return a, err
	}
	const workers = 3
	var progress [][5]int64
	var reports []int
	n, err := batch.Run(context.Background(), path, open, func(r *batch.Report) error {
		reports = append(reports, r.Line)
		require.Equal(t, map[restore.Status]int{restore.StatusRestored: 12}, r.Summary, r.Error)
		return nil
	}, &batch.Options{RunOptions: restore.RunOptions{Workers: workers, ChunkSize: chunkSize}, Progress: func(assetsDone, sized, assets int, done, total int64) {
		progress = append(progress, [5]int64{int64(assetsDone), int64(sized), int64(assets), done, total})
	}})
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.ElementsMatch(t, []int{1, 2, 3, 4, 5, 6}, reports)
	require.True(t, c.overlapped, "no two assets were written at once")
	require.LessOrEqual(t, c.max, workers*4, "chunk buffers in flight over Workers x 4")
	require.Greater(t, c.max, 4, "only one file in flight")
	require.Zero(t, c.files)
	// Progress: the shard's 6 assets from the start; bytes done never
	// above the total of the assets sized so far; all of it at the end.
	last := progress[len(progress)-1]
	require.Equal(t, [3]int64{6, 6, 6}, [3]int64(last[:3]))
	require.Equal(t, last[3], last[4])
	for _, p := range progress {
		require.Equal(t, int64(6), p[2])
		require.LessOrEqual(t, p[3], p[4])
		require.LessOrEqual(t, p[0], p[1])
	}
	_, err = batch.Run(context.Background(), path, open, func(*batch.Report) error { return nil },
		&batch.Options{RunOptions: restore.RunOptions{Workers: -1}})
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]batch.Shard{"0/1": {0, 1}, "3/4": {3, 4}, "0/16": {0, 16}} {
		got, err := batch.ParseShard(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
		require.Equal(t, in, got.String())
	}
	for _, in := range []string{"", "1", "2/2", "-1/2", "+1/2", "1/-2", "1/0", " 1/2", "1/2/3", "a/b", "0/"} {
		_, err := batch.ParseShard(in)
		require.ErrorContains(t, err, "is not K/N", in)
	}
}
