package azblobcrypt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/faultproxy"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// TestPackageContainers packages the ladder (encrypted by Python)
// container to container on Azurite through a proxy that faults a few
// percent of the requests: the destination only ever holds whole, correct
// files of the package (WatchDest), ends up holding exactly the package a
// directory run writes, byte for byte, and nothing else. A run stopped
// part-way is finished by running it again, keeping what it placed.
func TestPackageContainers(t *testing.T) {
	ctx := testCtx(t)
	fx := testvectors.Ladder(t)
	keys, err := os.ReadFile(filepath.Join(fx, "keys.json"))
	require.NoError(t, err)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	ref := t.TempDir()
	plainFiles, err := cmaf.SourceFiles(ctx, restore.Dir{Root: filepath.Join(fx, "plain")})
	require.NoError(t, err)
	_, err = cmaf.Package(ctx, restore.Dir{Root: ref}, plainFiles, nil)
	require.NoError(t, err)
	want := map[string]string{}
	entries, err := os.ReadDir(ref)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(ref, e.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		want[e.Name()] = hex.EncodeToString(sum[:])
	}

	src := azuritetest.NewContainer(t)
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(fx, "enc"))
	dst := azuritetest.NewContainer(t)
	dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	w := azuritetest.WatchDest(t, dstSAS, want)
	p := azuritetest.NewFaultProxy(t, faultproxy.Config{Rate: 0.05, Stall: time.Minute, Seed: 21})
	in := openContainer(t, p.Rewrite(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))), containerOptions(30*time.Second))
	out := openContainer(t, p.Rewrite(dstSAS), containerOptions(30*time.Second))
	files, err := serve.New(ctx, in, plan, nil)
	require.NoError(t, err)

	// Stopped once 12 files are placed.
	stopped, cancel := context.WithCancel(ctx)
	var placed atomic.Int32
	_, err = cmaf.Package(stopped, out, files, &cmaf.Options{Workers: 2, Progress: func(_ string, done, _ int) {
		if placed.Store(int32(done)); done >= 12 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	listed, err := out.List(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(listed), 12)
	require.Less(t, len(listed), len(want))

	rep, err := cmaf.Package(ctx, out, files, &cmaf.Options{Workers: 3})
	require.NoError(t, err)
	require.Equal(t, len(listed), rep.Skipped, "what the stopped run placed is kept")
	require.Equal(t, len(want), rep.Written+rep.Skipped)
	w.Finish()

	listed, err = out.List(ctx)
	require.NoError(t, err)
	require.Len(t, listed, len(want), "the destination holds the package and nothing else")
	for _, f := range listed {
		b, h := getBlob(t, dstSAS, f.Path)
		wantBytes, err := os.ReadFile(filepath.Join(ref, f.Path))
		require.NoError(t, err, f.Path)
		require.Equal(t, wantBytes, b, f.Path)
		require.Equal(t, cmaf.ContentType(f.Path), h.Get("Content-Type"), f.Path)
	}
	require.Positive(t, logStats(t, p).Faulted, "no request met a fault")
}
