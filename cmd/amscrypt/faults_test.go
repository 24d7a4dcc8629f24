package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/faultproxy"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

// The tests here run the built binary against Azurite through
// internal/faultproxy. Source blobs are put with plain HTTP: the fixtures
// of testdata/restore (made by gen_restore.py with Python's cryptography),
// and an asset of one large MP4 encrypted by openssl (testvectors.NewAsset)
// and put as many blocks.

func logStats(t *testing.T, p *faultproxy.Proxy) faultproxy.Stats {
	s := p.Stats()
	t.Logf("proxy: %d requests, %d faulted (%d reset, %d 500, %d 503, %d stalled)", s.Requests, s.Faulted, s.Reset, s.Status500, s.Status503, s.Stall)
	return s
}

// cliAsset is an asset in a source container for the CLI tests: the file
// of its read-only SAS URL, the key document, the directory of its
// ciphertexts, and each file's plaintext SHA-256.
type cliAsset struct {
	srcSAS string
	keys   string
	dir    string
	want   map[string]string
}

// fixtureCLIAsset puts a fixture asset into a new container.
func fixtureCLIAsset(t *testing.T, asset string) cliAsset {
	t.Helper()
	src := azuritetest.NewContainer(t)
	dir := restoreFixture(asset, "enc")
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), dir)
	var exp struct {
		Assets map[string]struct {
			Files []struct{ Path, SHA256 string }
		}
	}
	testvectors.Load(t, "restore/expected.json", &exp)
	a := cliAsset{srcSAS: src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), keys: restoreFixture(asset, "keys", "v3.json"),
		dir: dir, want: map[string]string{}}
	for _, f := range exp.Assets[asset].Files {
		a.want[f.Path] = f.SHA256
	}
	return a
}

// generatedCLIAsset puts an asset of one MP4 of size bytes, encrypted by
// openssl, into a new container as blocks of 1 MiB.
func generatedCLIAsset(t *testing.T, name string, size int) cliAsset {
	t.Helper()
	g := testvectors.NewAsset(t, name, size, 8)
	src := azuritetest.NewContainer(t)
	azuritetest.PutBlocks(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), name, g.Enc, 1<<20)
	dir := t.TempDir()
	keys := filepath.Join(dir, "getEncryptionKey.json")
	require.NoError(t, os.WriteFile(keys, g.Keys, 0o600))
	enc := filepath.Join(dir, "enc")
	require.NoError(t, os.Mkdir(enc, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(enc, name), g.Enc, 0o600))
	return cliAsset{srcSAS: src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), keys: keys, dir: enc, want: map[string]string{name: g.SHA256}}
}

// urlFile writes u into a new file and returns "@" and its path, so that
// no SAS is on a command line.
func urlFile(t *testing.T, u string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "sas-*.url")
	require.NoError(t, err)
	_, err = f.WriteString(u + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return "@" + f.Name()
}

// newDest returns a new destination container's SAS URL (read, write,
// list).
func newDest(t *testing.T) string {
	t.Helper()
	return azuritetest.NewContainer(t).SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
}

// summary returns the summary of a restore report.
func summary(t *testing.T, stdout string) map[string]int {
	t.Helper()
	var r struct{ Summary map[string]int }
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
	return r.Summary
}

// TestCLIRestoreFaults: with a few percent of the requests reset mid-body,
// answered 500 or 503 (Retry-After: 1), or stalled for 2 s and then cut,
// amscrypt restore container to container (an on-demand asset, a live
// archive, a blob of many blocks), container to directory, directory to
// container and --check, and amscrypt upload, all finish with
// byte-identical results; no destination ever holds a wrong or partial
// blob, or anything but the asset's files.
func TestCLIRestoreFaults(t *testing.T) {
	bin := buildCLI(t)
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 0.05, Stall: 2 * time.Second, Seed: 21})
	vod := fixtureCLIAsset(t, "vod")
	live := fixtureCLIAsset(t, "live")
	big := generatedCLIAsset(t, "big.mp4", 20<<20+12345) // 6 blocks of 4 MiB

	for name, a := range map[string]cliAsset{"vod": vod, "live": live, "big": big} {
		dst := newDest(t)
		w := azuritetest.WatchDest(t, dst, a.want)
		r := runCLI(t, bin, "restore", "--keys", a.keys, "--in", urlFile(t, p.Rewrite(a.srcSAS)), "--out", urlFile(t, p.Rewrite(dst)), "--quiet")
		require.Equal(t, 0, r.code, "%s: %s", name, r.stderr)
		require.Equal(t, map[string]int{"restored": len(a.want)}, summary(t, r.stdout), name)
		w.Finish()
	}

	out := filepath.Join(t.TempDir(), "out")
	r := runCLI(t, bin, "restore", "--keys", vod.keys, "--in", urlFile(t, p.Rewrite(vod.srcSAS)), "--out", out, "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	for name, want := range vod.want {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		require.NoError(t, err)
		require.Equal(t, want, sum256(b), name)
	}
	dst := newDest(t)
	w := azuritetest.WatchDest(t, dst, vod.want)
	r = runCLI(t, bin, "restore", "--keys", vod.keys, "--in", vod.dir, "--out", urlFile(t, p.Rewrite(dst)), "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	w.Finish()
	r = runCLI(t, bin, "restore", "--keys", vod.keys, "--in", urlFile(t, p.Rewrite(vod.srcSAS)), "--check")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, map[string]int{"checked": len(vod.want)}, summary(t, r.stdout))

	upload := uploadCase(t, bin)
	r = upload(p)
	require.Equal(t, 0, r.code, r.stderr)
	upload(nil) // checks the blob

	s := logStats(t, p)
	require.Positive(t, s.Faulted)
}

// uploadCase returns a function that uploads one 12 MiB file (48 blocks of
// 256 KiB) to one blob through p, with more arguments; called with nil it
// instead checks the committed blob against the file with openssl.
func uploadCase(t *testing.T, bin string) func(p *faultproxy.Proxy, more ...string) result {
	dir := t.TempDir()
	keyPath, _, key := writeKeyFile(t, dir, contentkey.StorageEncryption)
	g := testvectors.NewAsset(t, "up.mp4", 12<<20, 9)
	in := filepath.Join(dir, "up.mp4")
	require.NoError(t, os.WriteFile(in, g.Plain, 0o600))
	sasURL := newDest(t)
	var printed string
	return func(p *faultproxy.Proxy, more ...string) result {
		if p == nil {
			af, err := envelope.ParseAssetFile([]byte(printed))
			require.NoError(t, err)
			resp, err := http.Get(azuritetest.BlobURL(sasURL, "up.mp4"))
			require.NoError(t, err)
			defer resp.Body.Close()
			enc, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.True(t, bytes.Equal(g.Plain, testvectors.AES256CTR(t, key.Bytes(), uint64(af.IV()), enc)), "the uploaded blob does not decrypt to the file")
			return result{}
		}
		r := runCLI(t, bin, append([]string{"upload", "--key-file", keyPath, "--in", in, "--url", urlFile(t, p.Rewrite(sasURL)),
			"--block-size", "256KiB", "--state-dir", filepath.Join(dir, "state"), "--quiet"}, more...)...)
		if r.code == 0 {
			printed = r.stdout
		}
		return r
	}
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestCLIGiveUp: with every request faulted, restore and upload give up
// after --give-up-after with exit 1 and one line naming the last failure;
// one budget ends a restore of many files, not one per file. With the
// faults gone, the same commands finish. (The default, 2 minutes, is the
// same code with a longer budget; azblobcrypt/README.md has its
// arithmetic.)
func TestCLIGiveUp(t *testing.T) {
	const giveUp = 3 * time.Second
	const slack = 5 * time.Second // building no binary, Azurite and the race detector on two cores
	bin := buildCLI(t)
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 1, Stall: 2 * time.Second, Seed: 22})
	vod := fixtureCLIAsset(t, "vod")
	timed := func(args ...string) (result, time.Duration) {
		start := time.Now()
		r := runCLI(t, bin, args...)
		d := time.Since(start)
		t.Logf("%s gave up after %v: %s", args[0], d.Round(time.Millisecond), strings.TrimSpace(r.stderr))
		require.Less(t, d, giveUp+slack)
		require.GreaterOrEqual(t, d, giveUp)
		return r, d
	}

	// Container to container: the listing gives up; no report.
	dst := newDest(t)
	w := azuritetest.WatchDest(t, dst, vod.want)
	args := []string{"restore", "--keys", vod.keys, "--in", urlFile(t, p.Rewrite(vod.srcSAS)), "--out", urlFile(t, p.Rewrite(dst)), "--give-up-after", "3s", "--quiet"}
	r, _ := timed(args...)
	r.failsWith(t, 1, "storage failed every try for 3s (last: ")
	require.Contains(t, r.stderr, "gave up, run again to resume")

	// Directory to container: the report lists twelve failures, and the
	// one line says why.
	dirDst := newDest(t)
	w2 := azuritetest.WatchDest(t, dirDst, vod.want)
	dirArgs := []string{"restore", "--keys", vod.keys, "--in", vod.dir, "--out", urlFile(t, p.Rewrite(dirDst)), "--give-up-after", "3s", "--quiet"}
	r, _ = timed(dirArgs...)
	require.Equal(t, 1, r.code)
	require.Equal(t, map[string]int{"failed": 12}, summary(t, r.stdout))
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	require.Contains(t, r.stderr, "storage failed every try for 3s")
	require.Contains(t, r.stderr, "12 failed, 0 missing, 0 unmatched")
	require.NotContains(t, r.stdout+r.stderr, "sig=")

	upload := uploadCase(t, bin)
	start := time.Now()
	r = upload(p, "--give-up-after", "3s")
	d := time.Since(start)
	t.Logf("upload gave up after %v: %s", d.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	r.failsWith(t, 1, "storage failed every try for 3s")
	require.Less(t, d, giveUp+slack)

	// A batch stops at the first asset storage gave up on, rather than
	// spending a budget on each line: no asset starts after it, and those
	// in flight (up to twice GOMAXPROCS) finish and are reported.
	bdir := t.TempDir()
	var lines []string
	for i := range 2*runtime.NumCPU() + 2 {
		in, out := filepath.Join(bdir, fmt.Sprintf("in-%d.url", i)), filepath.Join(bdir, fmt.Sprintf("out-%d.url", i))
		require.NoError(t, os.WriteFile(in, []byte(p.Rewrite(vod.srcSAS)), 0o600))
		require.NoError(t, os.WriteFile(out, []byte(p.Rewrite(newDest(t))), 0o600))
		lines = append(lines, fmt.Sprintf(`{"in":"@%s","out":"@%s","keys":[%q]}`, filepath.Base(in), filepath.Base(out), vod.keys))
	}
	batch := filepath.Join(bdir, "batch.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	r, _ = timed("restore", "--batch", batch, "--give-up-after", "3s", "--quiet")
	require.Equal(t, 1, r.code)
	reported := strings.Count(r.stdout, "\n")
	require.Less(t, reported, len(lines), "report lines after the give-up: %s", r.stdout)
	require.Equal(t, reported, strings.Count(r.stdout, "gave up"), r.stdout)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	require.Regexp(t, `stopped the batch after line [0-9]+, run the same command again to resume`, r.stderr)
	faulted := logStats(t, p)

	require.NoError(t, p.SetConfig(faultproxy.Config{}))
	r = runCLI(t, bin, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, map[string]int{"restored": 12}, summary(t, r.stdout))
	w.Finish()
	r = runCLI(t, bin, dirArgs...)
	require.Equal(t, 0, r.code, r.stderr)
	w2.Finish()
	r = upload(p)
	require.Equal(t, 0, r.code, r.stderr)
	upload(nil)
	require.Equal(t, faulted.Faulted, p.Stats().Faulted)
}

// isPutBlock reports whether r stages a block.
func isPutBlock(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block"
}

// TestCLIRestoreKilledResumes kills amscrypt restore container to
// container with SIGKILL once three of the ten blocks of a 40 MiB blob are
// staged (the proxy answers 503 to the others), and runs it again: the
// blob was never committed in between, the second run stages only the
// seven missing blocks and the blob is byte-identical, and a third run
// transfers nothing.
func TestCLIRestoreKilledResumes(t *testing.T) {
	bin := buildCLI(t)
	const blocks = 10
	big := generatedCLIAsset(t, "big.mp4", (blocks-1)*4<<20+4321)
	var puts, blockPuts atomic.Int64
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 1, Faults: []faultproxy.Fault{faultproxy.Status503}, Match: func(r *http.Request) bool {
		return isPutBlock(r) && blockPuts.Add(1) > 3
	}})
	dst := newDest(t)
	w := azuritetest.WatchDest(t, dst, big.want)
	args := []string{"restore", "--keys", big.keys, "--in", urlFile(t, big.srcSAS), "--out", urlFile(t, p.Rewrite(dst)), "--quiet"}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for azuritetest.Uncommitted(t, dst, "big.mp4") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.True(t, time.Now().Before(deadline), "no blocks staged in 30 s: %s", stderr.String())
	resp, err := http.Head(azuritetest.BlobURL(dst, "big.mp4"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "a killed restore committed its blob")
	require.Equal(t, 3, azuritetest.Uncommitted(t, dst, "big.mp4"))

	// Now the proxy only counts.
	blockPuts.Store(0)
	require.NoError(t, p.SetConfig(faultproxy.Config{Match: func(r *http.Request) bool {
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
		if isPutBlock(r) {
			blockPuts.Add(1)
		}
		return false
	}}))
	r := runCLI(t, bin, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, map[string]int{"restored": 1}, summary(t, r.stdout))
	require.Equal(t, int64(blocks-3), blockPuts.Load(), "blocks staged by the second run")
	w.Finish()

	puts.Store(0)
	r = runCLI(t, bin, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, map[string]int{"skipped": 1}, summary(t, r.stdout))
	require.Zero(t, puts.Load(), "a run after success wrote")
}

// TestCLIRestoreBatchContainers: a batch of three assets between
// containers in two shards; each shard restores only its lines, and
// together they restore the batch.
func TestCLIRestoreBatchContainers(t *testing.T) {
	bin := buildCLI(t)
	vod := fixtureCLIAsset(t, "vod")
	live := fixtureCLIAsset(t, "live")
	dir := t.TempDir()
	assets := []cliAsset{vod, live, vod}
	var lines []string
	var dsts []string
	for i, a := range assets {
		dst := newDest(t)
		dsts = append(dsts, dst)
		in, out := filepath.Join(dir, fmt.Sprintf("in-%d.url", i)), filepath.Join(dir, fmt.Sprintf("out-%d.url", i))
		require.NoError(t, os.WriteFile(in, []byte(a.srcSAS), 0o600))
		require.NoError(t, os.WriteFile(out, []byte(dst), 0o600))
		lines = append(lines, fmt.Sprintf(`{"in":"@%s","out":"@%s","keys":[%q]}`, filepath.Base(in), filepath.Base(out), a.keys))
	}
	batch := filepath.Join(dir, "batch.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	done := map[int]bool{}
	for shard, want := range map[string][]int{"0/2": {1, 3}, "1/2": {2}} {
		r := runCLI(t, bin, "restore", "--batch", batch, "--shard", shard, "--quiet")
		require.Equal(t, 0, r.code, r.stderr)
		var got []int
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var x struct {
				Line    int
				Summary map[string]int
			}
			require.NoError(t, json.Unmarshal([]byte(l), &x), l)
			require.Equal(t, map[string]int{"restored": len(assets[x.Line-1].want)}, x.Summary)
			got = append(got, x.Line)
			done[x.Line] = true
		}
		slices.Sort(got) // printed as assets finish
		require.Equal(t, want, got, shard)
		require.NotContains(t, r.stdout, "sig=")
	}
	require.Len(t, done, len(assets))
	for i, dst := range dsts {
		azuritetest.WatchDest(t, dst, assets[i].want).Finish()
	}
}

// TestCLIRestoreShardsKilled is the contract docs/azure-batch.md and
// docs/k8s-indexed-job.yaml rely on, on one machine: three shard processes
// of one batch of six assets start at once; shard 1 is killed (SIGKILL)
// once it has reported one asset while the blocks of its other, a 40 MiB
// blob, are held back by the proxy, and is started again. The reports of
// each shard's last run cover every batch line exactly once, each asset
// restored (the killed run's line skipped the second time), and no
// destination ever holds a blob that is not a file of its asset, whole and
// byte-identical.
func TestCLIRestoreShardsKilled(t *testing.T) {
	bin := buildCLI(t)
	vod := fixtureCLIAsset(t, "vod")
	live := fixtureCLIAsset(t, "live")
	const blocks = 10
	big := generatedCLIAsset(t, "big.mp4", (blocks-1)*4<<20+4321)
	var blockPuts atomic.Int64
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 1, Faults: []faultproxy.Fault{faultproxy.Status503}, Match: func(r *http.Request) bool {
		return isPutBlock(r) && blockPuts.Add(1) > 3
	}})
	// Line L is in shard (L-1) mod 3: shard 1 has lines 2 (vod) and 5 (big).
	assets := []cliAsset{vod, vod, live, live, big, vod}
	dir := t.TempDir()
	var lines []string
	var watches []*azuritetest.Watch
	var bigDst string
	for i, a := range assets {
		dst := newDest(t)
		watches = append(watches, azuritetest.WatchDest(t, dst, a.want))
		if i == 4 {
			bigDst, dst = dst, p.Rewrite(dst)
		}
		in, out := filepath.Join(dir, fmt.Sprintf("in-%d.url", i)), filepath.Join(dir, fmt.Sprintf("out-%d.url", i))
		require.NoError(t, os.WriteFile(in, []byte(a.srcSAS), 0o600))
		require.NoError(t, os.WriteFile(out, []byte(dst), 0o600))
		lines = append(lines, fmt.Sprintf(`{"in":"@%s","out":"@%s","keys":[%q]}`, filepath.Base(in), filepath.Base(out), a.keys))
	}
	batch := filepath.Join(dir, "batch.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	type shardRun struct {
		cmd            *exec.Cmd
		stdout, stderr lockedBuffer
	}
	start := func(k int) *shardRun {
		s := &shardRun{cmd: exec.Command(bin, "restore", "--batch", batch, "--shard", fmt.Sprintf("%d/3", k), "--quiet")}
		s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
		require.NoError(t, s.cmd.Start())
		return s
	}
	type report struct {
		Line    int
		Summary map[string]int
	}
	parse := func(stdout string) map[int]report {
		got := map[int]report{}
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if l == "" {
				continue
			}
			var r report
			require.NoError(t, json.Unmarshal([]byte(l), &r), l)
			_, dup := got[r.Line]
			require.False(t, dup, "line %d reported twice by one run", r.Line)
			got[r.Line] = r
		}
		return got
	}
	runs := []*shardRun{start(0), start(1), start(2)}

	deadline := time.Now().Add(60 * time.Second)
	for (runs[1].stdout.String() == "" || azuritetest.Uncommitted(t, bigDst, "big.mp4") < 3) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, runs[1].cmd.Process.Signal(syscall.SIGKILL))
	_ = runs[1].cmd.Wait()
	require.True(t, time.Now().Before(deadline), "shard 1 did not get half-way in 60 s: %s", runs[1].stderr.String())
	killed := parse(runs[1].stdout.String())
	require.Equal(t, map[int]report{2: {2, map[string]int{"restored": 12}}}, killed, "the killed run's reports")

	for _, k := range []int{0, 2} {
		require.NoError(t, runs[k].cmd.Wait(), "shard %d: %s", k, runs[k].stderr.String())
	}
	require.NoError(t, p.SetConfig(faultproxy.Config{}))
	runs[1] = start(1)
	require.NoError(t, runs[1].cmd.Wait(), "shard 1 again: %s", runs[1].stderr.String())

	all := map[int]report{}
	for k, s := range runs {
		for line, r := range parse(s.stdout.String()) {
			require.Equal(t, k, (line-1)%3, "line %d reported by shard %d", line, k)
			_, dup := all[line]
			require.False(t, dup, "line %d reported twice", line)
			all[line] = r
		}
		require.NotContains(t, s.stdout.String()+s.stderr.String(), "sig=")
	}
	require.Len(t, all, len(assets))
	for line, r := range all {
		want := map[string]int{"restored": len(assets[line-1].want)}
		if line == 2 {
			want = map[string]int{"skipped": 12} // restored by the killed run
		}
		require.Equal(t, want, r.Summary, "line %d", line)
	}
	for _, w := range watches {
		w.Finish()
	}
}
