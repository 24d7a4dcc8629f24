package azblobcrypt_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/faultproxy"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// fastRetry is the retry policy of the fault tests: tries of 1 s and a
// short back-off, so that a stall costs 1 s rather than the default
// minute. Retry-After (1 s from the proxy) stays under MaxRetryDelay, as it
// must to be honoured.
var fastRetry = policy.RetryOptions{TryTimeout: time.Second, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 2 * time.Second}

// containerOptions are small blocks (many per file), three in flight, the
// fast retry policy, the given budget, and extra per-try policies.
func containerOptions(giveUp time.Duration, policies ...policy.Policy) *azblobcrypt.ContainerOptions {
	return &azblobcrypt.ContainerOptions{BlockSize: testBlockSize, Workers: 3, GiveUpAfter: giveUp,
		ClientOptions: &container.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: fastRetry, PerRetryPolicies: policies}}}
}

func openContainer(t *testing.T, sasURL string, o *azblobcrypt.ContainerOptions) *azblobcrypt.Container {
	t.Helper()
	c, err := azblobcrypt.NewContainer(sasURL, o)
	require.NoError(t, err)
	return c
}

// testAsset is an asset in a source container: the container's read-only
// SAS URL, the local directory of its ciphertexts, its plan, and the
// plaintext SHA-256 of each file.
type testAsset struct {
	name   string
	srcSAS string
	dir    string
	plan   *keyexport.Plan
	want   map[string]string
}

// fixtureAsset puts a fixture asset of testdata/restore (made by
// gen_restore.py) into a new container with plain HTTP.
func fixtureAsset(t *testing.T, asset string, docs ...string) testAsset {
	t.Helper()
	src := azuritetest.NewContainer(t)
	dir := filepath.Join(testvectors.Dir, "restore", asset, "enc")
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), dir)
	a := testAsset{name: asset, srcSAS: src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), dir: dir,
		plan: fixturePlan(t, docs...), want: map[string]string{}}
	for _, f := range fixtureFiles(t, asset) {
		a.want[f.Path] = f.SHA256
	}
	return a
}

// generatedAsset makes an asset of one file of size bytes, encrypted by
// openssl (or Python), and puts it into a new container with plain HTTP, as
// blocks of 100 KiB.
func generatedAsset(t *testing.T, name string, size int) (testAsset, testvectors.Asset) {
	t.Helper()
	g := testvectors.NewAsset(t, name, size, 5)
	src := azuritetest.NewContainer(t)
	azuritetest.PutBlocks(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), name, g.Enc, 100<<10)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), g.Enc, 0o600))
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "getEncryptionKey.json", Data: g.Keys}}, nil)
	require.NoError(t, err)
	return testAsset{name: name, srcSAS: src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), dir: dir,
		plan: plan, want: map[string]string{name: g.SHA256}}, g
}

func logStats(t *testing.T, p *faultproxy.Proxy) faultproxy.Stats {
	s := p.Stats()
	t.Logf("proxy: %d requests, %d faulted (%d reset, %d 500, %d 503, %d stalled)", s.Requests, s.Faulted, s.Reset, s.Status500, s.Status503, s.Stall)
	return s
}

// TestRestoreUnderFaults restores container to container through a proxy
// that faults a few percent of the requests: connections reset mid-body,
// 500s, 503s with Retry-After, and responses that stall until the per-try
// timeout abandons them. Every file arrives byte-identical, and the
// destination never holds a wrong or partial blob. The mixed case also
// restores container to directory and directory to container, and
// uploads.
func TestRestoreUnderFaults(t *testing.T) {
	vod := fixtureAsset(t, "vod", "vod/keys/v3.json")
	live := fixtureAsset(t, "live", "live/keys/v3.json")
	big, _ := generatedAsset(t, "big.mp4", 40*testBlockSize+777)
	for _, tc := range []struct {
		name  string
		cfg   faultproxy.Config
		count func(faultproxy.Stats) int64
	}{
		{"reset", faultproxy.Config{Rate: 0.1, Faults: []faultproxy.Fault{faultproxy.Reset}, Seed: 1}, func(s faultproxy.Stats) int64 { return s.Reset }},
		{"500", faultproxy.Config{Rate: 0.1, Faults: []faultproxy.Fault{faultproxy.Status500}, Seed: 2}, func(s faultproxy.Stats) int64 { return s.Status500 }},
		{"503", faultproxy.Config{Rate: 0.05, Faults: []faultproxy.Fault{faultproxy.Status503}, Seed: 3}, func(s faultproxy.Stats) int64 { return s.Status503 }},
		{"stall", faultproxy.Config{Rate: 0.03, Faults: []faultproxy.Fault{faultproxy.Stall}, Stall: time.Minute, Seed: 4}, func(s faultproxy.Stats) int64 { return s.Stall }},
		{"mixed", faultproxy.Config{Rate: 0.05, Stall: time.Minute, Seed: 5}, func(s faultproxy.Stats) int64 { return s.Faulted }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := azuritetest.NewFaultProxy(t, tc.cfg)
			assets := []testAsset{vod, big}
			if tc.name == "mixed" {
				assets = append(assets, live)
			}
			for _, a := range assets {
				dst := azuritetest.NewContainer(t)
				dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
				w := azuritetest.WatchDest(t, dstSAS, a.want)
				in := openContainer(t, p.Rewrite(a.srcSAS), containerOptions(30*time.Second))
				out := openContainer(t, p.Rewrite(dstSAS), containerOptions(30*time.Second))
				r, err := restore.Run(ctx, out, in, a.plan, &restore.RunOptions{ChunkSize: 48 << 10})
				require.NoError(t, err, a.name)
				require.True(t, r.OK(), "%s: %+v", a.name, r)
				require.Equal(t, map[restore.Status]int{restore.StatusRestored: len(a.want)}, r.Summary, a.name)
				w.Finish()
			}
			if tc.name == "mixed" {
				restoreToDirAndBack(t, p, vod)
				uploadUnderFaults(t, p)
			}
			s := logStats(t, p)
			require.Positive(t, tc.count(s), "no request met the fault")
		})
	}
}

// restoreToDirAndBack restores a through the proxy into a directory, and
// its ciphertext directory through the proxy into a container.
func restoreToDirAndBack(t *testing.T, p *faultproxy.Proxy, a testAsset) {
	ctx := testCtx(t)
	in := openContainer(t, p.Rewrite(a.srcSAS), containerOptions(30*time.Second))
	dir := t.TempDir()
	r, err := restore.Run(ctx, restore.Dir{Root: dir}, in, a.plan, &restore.RunOptions{ChunkSize: 48 << 10})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	for name, want := range a.want {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		require.NoError(t, err)
		require.Equal(t, want, sum(b), name)
	}

	dst := azuritetest.NewContainer(t)
	dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	w := azuritetest.WatchDest(t, dstSAS, a.want)
	out := openContainer(t, p.Rewrite(dstSAS), containerOptions(30*time.Second))
	r, err = restore.Run(ctx, out, restore.Dir{Root: a.dir}, a.plan, nil)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	w.Finish()
}

// uploadUnderFaults uploads a file of many blocks through the proxy and
// checks the blob with an independent AES-CTR.
func uploadUnderFaults(t *testing.T, p *faultproxy.Proxy) {
	_, sasURL := newContainer(t)
	keyID, key := newKey(t)
	src, data := writeRandomFile(t, t.TempDir(), "source", 30*testBlockSize+5, 9)
	res, err := azblobcrypt.UploadFile(testCtx(t), p.Rewrite(sasURL), "up.bin", src, key, keyID, &azblobcrypt.UploadOptions{
		BlockSize: testBlockSize, Workers: 3, StateDir: t.TempDir(), GiveUpAfter: 30 * time.Second,
		ClientOptions: &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: fastRetry}}})
	require.NoError(t, err)
	blobURL, err := envelope.UploadURL(sasURL, "up.bin")
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, decryptIndependently(t, key, res.IV, rawBlob(t, blobURL))), "the uploaded blob does not decrypt to the file")
}

// TestGiveUp: with faults that never stop, restore and upload give up
// after GiveUpAfter with ErrGaveUp and a one-line message naming the last
// failure, not after one budget per file; the first operation to give up
// ends the others at once. Once the faults stop, the same runs finish.
func TestGiveUp(t *testing.T) {
	const giveUp = 3 * time.Second
	// Slack for the work around the operations that give up: Azurite and
	// the race detector on two cores.
	const slack = 4 * time.Second
	vod := fixtureAsset(t, "vod", "vod/keys/v3.json")
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 1, Stall: time.Minute, Seed: 6})
	ctx := testCtx(t)
	checkGaveUp := func(t *testing.T, err error, start time.Time) {
		t.Helper()
		d := time.Since(start)
		t.Logf("gave up after %v: %v", d.Round(time.Millisecond), err)
		require.ErrorIs(t, err, azblobcrypt.ErrGaveUp)
		require.False(t, errors.Is(err, context.Canceled), "a give-up is no cancellation")
		msg := err.Error()
		require.NotContains(t, msg, "\n")
		require.NotContains(t, msg, "sig=")
		require.Contains(t, msg, "storage failed every try for 3s (last: ")
		require.Less(t, d, giveUp+slack)
	}

	// Container to container: the listing gives up.
	dst := azuritetest.NewContainer(t)
	dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	w := azuritetest.WatchDest(t, dstSAS, vod.want)
	in := openContainer(t, p.Rewrite(vod.srcSAS), containerOptions(giveUp))
	start := time.Now()
	_, err := restore.Run(ctx, openContainer(t, p.Rewrite(dstSAS), containerOptions(giveUp)), in, vod.plan, nil)
	checkGaveUp(t, err, start)
	require.Equal(t, err, in.GaveUp())

	// Directory to container: twelve files, four at a time, and one
	// budget for them all.
	dirDst := azuritetest.NewContainer(t)
	dirDstSAS := dirDst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	w2 := azuritetest.WatchDest(t, dirDstSAS, vod.want)
	out := openContainer(t, p.Rewrite(dirDstSAS), containerOptions(giveUp))
	start = time.Now()
	r, err := restore.Run(ctx, out, restore.Dir{Root: vod.dir}, vod.plan, &restore.RunOptions{Workers: 4})
	require.NoError(t, err)
	require.Equal(t, map[restore.Status]int{restore.StatusFailed: 12}, r.Summary)
	for _, f := range r.Files {
		require.Contains(t, f.Error, "gave up", f.Name)
	}
	checkGaveUp(t, out.GaveUp(), start)

	// Upload.
	_, upSAS := newContainer(t)
	keyID, key := newKey(t)
	src, data := writeRandomFile(t, t.TempDir(), "source", 10*testBlockSize, 10)
	stateDir := t.TempDir()
	uo := &azblobcrypt.UploadOptions{BlockSize: testBlockSize, Workers: 3, StateDir: stateDir, GiveUpAfter: giveUp,
		ClientOptions: &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: fastRetry}}}
	start = time.Now()
	_, err = azblobcrypt.UploadFile(ctx, p.Rewrite(upSAS), "up.bin", src, key, keyID, uo)
	checkGaveUp(t, err, start)
	faulted := logStats(t, p)

	// The faults stop; the same runs finish, with new Containers (one
	// that gave up stays so).
	require.NoError(t, p.SetConfig(faultproxy.Config{}))
	r, err = restore.Run(ctx, openContainer(t, p.Rewrite(dstSAS), containerOptions(giveUp)),
		openContainer(t, p.Rewrite(vod.srcSAS), containerOptions(giveUp)), vod.plan, nil)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	w.Finish()
	r, err = restore.Run(ctx, openContainer(t, p.Rewrite(dirDstSAS), containerOptions(giveUp)), restore.Dir{Root: vod.dir}, vod.plan, nil)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	w2.Finish()
	res, err := azblobcrypt.UploadFile(ctx, p.Rewrite(upSAS), "up.bin", src, key, keyID, uo)
	require.NoError(t, err)
	blobURL, _ := envelope.UploadURL(upSAS, "up.bin")
	require.True(t, bytes.Equal(data, decryptIndependently(t, key, res.IV, rawBlob(t, blobURL))))
	after := p.Stats()
	require.Equal(t, faulted.Faulted, after.Faulted, "faults after SetConfig")
}

// TestRetryBudgetOptions: a budget out of range is refused before any
// request.
func TestRetryBudgetOptions(t *testing.T) {
	_, key := newKey(t)
	for _, d := range []time.Duration{-time.Second, azblobcrypt.MaxGiveUpAfter + 1} {
		_, err := azblobcrypt.NewContainer("https://a.blob.core.windows.net/c?sig=x", &azblobcrypt.ContainerOptions{GiveUpAfter: d})
		require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
		_, err = azblobcrypt.OpenBlob(t.Context(), "https://a.blob.core.windows.net/c/b?sig=x", key, 1, &azblobcrypt.BlobOptions{GiveUpAfter: d})
		require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
		require.False(t, strings.Contains(err.Error(), "sig="))
	}
}
