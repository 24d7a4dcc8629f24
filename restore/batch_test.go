package restore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// openDirs opens a batch line as directories, reading "@FILE" as the
// CLI does, and records every line it was given.
func openDirs(seen *[]restore.BatchLine) func(context.Context, restore.BatchLine) (*restore.Asset, error) {
	return func(_ context.Context, l restore.BatchLine) (*restore.Asset, error) {
		*seen = append(*seen, l)
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
		var docs []keyexport.Document
		for _, k := range l.Keys {
			b, err := os.ReadFile(k)
			if err != nil {
				return nil, err
			}
			docs = append(docs, keyexport.Document{Name: k, Data: b})
		}
		plan, err := keyexport.NewPlan(docs, nil)
		if err != nil {
			return nil, err
		}
		return &restore.Asset{Source: restore.Dir{Root: l.In}, Sink: restore.Dir{Root: l.Out}, Plan: plan, In: l.In, Out: l.Out}, nil
	}
}

func writeBatch(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, "batch.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return p
}

// TestRunBatch: relative paths (and "@FILE"s) are resolved against the
// batch file's directory, bad lines are reported with 1-based line numbers
// and the rest go on, a SAS never reaches a report, and a shard runs only
// its lines.
func TestRunBatch(t *testing.T) {
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
	var seen []restore.BatchLine
	var reports []restore.BatchReport
	collect := func(r *restore.BatchReport) error { reports = append(reports, *r); return nil }
	n, err := restore.RunBatch(context.Background(), path, openDirs(&seen), collect, nil)
	require.Equal(t, 5, n)
	require.EqualError(t, err, "restore: 3 of the 5 assets of shard 0/1 did not restore completely (see their report lines)")

	require.Equal(t, []restore.BatchLine{
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
	require.Equal(t, "restore: "+path+" line 4: duplicate JSON member $.in", reports[2].Error)
	require.Nil(t, reports[2].Report)
	require.Equal(t, "https://acct.blob.core.windows.net/c", reports[3].In)
	require.Contains(t, reports[3].Error, "line 5: this opener has no containers")
	require.Contains(t, reports[4].Error, `line 6: "in", "keys" and (unless only checking) "out" are required`)

	// Shard 1/2 runs lines 2, 4 and 6; line 2 is restored already.
	reports = nil
	_, err = restore.RunBatch(context.Background(), path, openDirs(&seen), collect, &restore.BatchOptions{Shard: restore.Shard{K: 1, N: 2}})
	require.ErrorContains(t, err, "2 of the 3 assets of shard 1/2")
	require.Len(t, reports, 3)
	require.Equal(t, []int{2, 4, 6}, []int{reports[0].Line, reports[1].Line, reports[2].Line})
	require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 9}, reports[0].Summary)

	// With Check, "out" is optional and nothing is written.
	reports = nil
	check := writeBatch(t, t.TempDir(), fmt.Sprintf(`{"in":%q,"keys":[%q]}`, fix("vod", "enc"), fix("vod", "keys", "v3.json")))
	n, err = restore.RunBatch(context.Background(), check, openDirs(&seen), collect, &restore.BatchOptions{RunOptions: restore.RunOptions{Check: true}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 12, reports[0].Summary[restore.StatusChecked])

	_, err = restore.RunBatch(context.Background(), path, openDirs(&seen), collect, &restore.BatchOptions{Shard: restore.Shard{K: 2, N: 2}})
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
}

// gaveUpDir is a directory whose storage "gave up".
type gaveUpDir struct{ restore.Dir }

func (gaveUpDir) GaveUp() error { return errors.New("storage failed every try") }

// TestRunBatchStopsWhenStorageGaveUp: the asset is reported, then the
// batch stops rather than waiting as long again on every next line.
func TestRunBatchStopsWhenStorageGaveUp(t *testing.T) {
	dir := t.TempDir()
	line := fmt.Sprintf(`{"in":%q,"keys":[%q]}`, filepath.Join(testvectors.Dir, "restore", "vod", "enc"), filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json"))
	path := writeBatch(t, dir, line, line)
	var seen []restore.BatchLine
	open := func(ctx context.Context, l restore.BatchLine) (*restore.Asset, error) {
		a, err := openDirs(&seen)(ctx, l)
		if err == nil {
			a.Source, a.Sink = gaveUpDir{a.Source.(restore.Dir)}, nil
		}
		return a, err
	}
	var reports []*restore.BatchReport
	_, err := restore.RunBatch(context.Background(), path, open, func(r *restore.BatchReport) error { reports = append(reports, r); return nil },
		&restore.BatchOptions{RunOptions: restore.RunOptions{Check: true}})
	require.EqualError(t, err, "storage failed every try; stopped the batch after line 1, run the same command again to resume")
	require.Len(t, reports, 1)
	require.Len(t, seen, 1)
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]restore.Shard{"0/1": {0, 1}, "3/4": {3, 4}, "0/16": {0, 16}} {
		got, err := restore.ParseShard(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
		require.Equal(t, in, got.String())
	}
	for _, in := range []string{"", "1", "2/2", "-1/2", "+1/2", "1/-2", "1/0", " 1/2", "1/2/3", "a/b", "0/"} {
		_, err := restore.ParseShard(in)
		require.ErrorContains(t, err, "is not K/N", in)
	}
}
