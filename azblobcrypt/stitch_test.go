package azblobcrypt_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// TestRestoreStitchContainers restores the fixture live archive (encrypted
// by Python, testvectors.EncryptLiveArchive) with RunOptions.Stitch
// container to container on Azurite: every track becomes one blob equal
// to what a directory restore stitches, with its Content-Type and digest,
// no fragblob is written, and a second run skips them all.
func TestRestoreStitchContainers(t *testing.T) {
	ctx := context.Background()
	enc, keys := testvectors.EncryptLiveArchive(t, "--untimed-last", "video")
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: keys}}, nil)
	require.NoError(t, err)
	ref := t.TempDir()
	r, err := restore.Run(ctx, restore.Dir{Root: ref}, restore.Dir{Root: enc}, plan, &restore.RunOptions{Stitch: true})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)

	src := azuritetest.NewContainer(t)
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), enc)
	dst := azuritetest.NewContainer(t)
	dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	small := &azblobcrypt.ContainerOptions{BlockSize: 8 << 10, Workers: 3}
	in, err := azblobcrypt.NewContainer(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), small)
	require.NoError(t, err)
	out, err := azblobcrypt.NewContainer(dstSAS, small)
	require.NoError(t, err)

	r, err = restore.Run(ctx, out, in, plan, &restore.RunOptions{Stitch: true, ChunkSize: 16 << 10})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	require.Equal(t, 6, r.Summary[restore.StatusRestored], "%+v", r.Summary)
	require.Len(t, r.WithGaps(), 1)
	types := map[string]string{"video=48000.mp4": "video/mp4", "audio_eng=32000.mp4": "audio/mp4",
		"audio_fra=32000.mp4": "audio/mp4", "text=1000.mp4": "application/mp4"}
	for _, f := range r.Files {
		want, err := os.ReadFile(filepath.Join(ref, f.Name))
		require.NoError(t, err)
		got, h := getBlob(t, dstSAS, f.Name)
		require.Equal(t, want, got, f.Name)
		require.Equal(t, f.SHA256, h.Get("x-ms-meta-"+azblobcrypt.MetadataSHA256), f.Name)
		if ct := types[f.Name]; ct != "" {
			require.Equal(t, ct, h.Get("Content-Type"), f.Name)
		}
	}
	listed, err := out.List(ctx)
	require.NoError(t, err)
	require.Len(t, listed, 6, "the manifests and one blob per track, no fragblob")

	again, err := restore.Run(ctx, out, in, plan, &restore.RunOptions{Stitch: true})
	require.NoError(t, err)
	require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 6}, again.Summary)

	// Container to directory, and --check writing nothing.
	dir := t.TempDir()
	r, err = restore.Run(ctx, restore.Dir{Root: dir}, in, plan, &restore.RunOptions{Stitch: true})
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	for _, f := range r.Files {
		want, _ := os.ReadFile(filepath.Join(ref, f.Name))
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		require.NoError(t, err)
		require.Equal(t, want, got, f.Name)
	}
	c, err := restore.Run(ctx, nil, in, plan, &restore.RunOptions{Stitch: true, Check: true})
	require.NoError(t, err)
	require.Equal(t, map[restore.Status]int{restore.StatusChecked: 6}, c.Summary)
}
