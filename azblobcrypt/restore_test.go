package azblobcrypt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

// getBlob reads a blob with plain HTTP and returns its bytes and headers.
func getBlob(t *testing.T, sasURL, name string) ([]byte, http.Header) {
	t.Helper()
	resp, err := http.Get(azuritetest.BlobURL(sasURL, name))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, name)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b, resp.Header
}

type fixtureFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func fixtureFiles(t *testing.T, asset string) []fixtureFile {
	var exp struct {
		Assets map[string]struct {
			Files []fixtureFile `json:"files"`
		} `json:"assets"`
	}
	testvectors.Load(t, "restore/expected.json", &exp)
	return exp.Assets[asset].Files
}

func fixturePlan(t *testing.T, docs ...string) *keyexport.Plan {
	t.Helper()
	var ds []keyexport.Document
	for _, d := range docs {
		ds = append(ds, keyexport.Document{Name: d, Data: testvectors.Read(t, filepath.Join("restore", d))})
	}
	p, err := keyexport.NewPlan(ds, nil)
	require.NoError(t, err)
	return p
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestRestoreContainers restores the fixture assets container to
// container, container to directory and directory to container, on
// Azurite, and checks every plaintext against the digests Python computed,
// the Content-Type and metadata of every blob, and that a second run
// transfers nothing.
func TestRestoreContainers(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		asset string
		docs  []string
	}{
		{"vod", []string{"vod/keys/v2-files-minimal.json", "vod/keys/keyfile.json"}},
		{"live", []string{"live/keys/v3.json"}},
	} {
		t.Run(tt.asset, func(t *testing.T) {
			src := azuritetest.NewContainer(t)
			srcSAS := src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
			azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(testvectors.Dir, "restore", tt.asset, "enc"))
			dst := azuritetest.NewContainer(t)
			dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
			plan := fixturePlan(t, tt.docs...)
			files := fixtureFiles(t, tt.asset)

			// Small blocks and chunks, so that files of many blocks and
			// parallel ranged reads are exercised.
			in, err := azblobcrypt.NewContainer(srcSAS, &azblobcrypt.ContainerOptions{BlockSize: 64 << 10, Workers: 3})
			require.NoError(t, err)
			out, err := azblobcrypt.NewContainer(dstSAS, &azblobcrypt.ContainerOptions{BlockSize: 64 << 10, Workers: 3})
			require.NoError(t, err)
			r, err := restore.Run(ctx, out, in, plan, &restore.RunOptions{ChunkSize: 48 << 10})
			require.NoError(t, err)
			require.True(t, r.OK(), "%+v", r)
			require.Equal(t, len(files), r.Summary[restore.StatusRestored])
			mime := map[string]string{}
			for _, e := range plan.Entries {
				mime[e.Name] = e.MimeType
			}
			for _, f := range files {
				b, h := getBlob(t, dstSAS, f.Path)
				require.Equal(t, f.SHA256, sum(b), f.Path)
				require.Equal(t, f.SHA256, h.Get("x-ms-meta-"+azblobcrypt.MetadataSHA256), f.Path)
				require.NotEmpty(t, h.Get("x-ms-meta-"+azblobcrypt.MetadataSourceETag), f.Path)
				if m := mime[f.Path]; m != "" {
					require.Equal(t, m, h.Get("Content-Type"), f.Path)
				}
			}

			again, err := restore.Run(ctx, out, in, plan, nil)
			require.NoError(t, err)
			require.Equal(t, len(files), again.Summary[restore.StatusSkipped], "%+v", again.Summary)

			// Container to directory, and that directory back to a container.
			dir := t.TempDir()
			r, err = restore.Run(ctx, restore.Dir{Root: dir}, in, plan, nil)
			require.NoError(t, err)
			require.True(t, r.OK(), "%+v", r)
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				require.NoError(t, err)
				require.Equal(t, f.SHA256, sum(b), f.Path)
			}
			up := azuritetest.NewContainer(t)
			upSAS := up.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
			upC, err := azblobcrypt.NewContainer(upSAS, nil)
			require.NoError(t, err)
			r, err = restore.Run(ctx, upC, restore.Dir{Root: filepath.Join(testvectors.Dir, "restore", tt.asset, "enc")}, plan, nil)
			require.NoError(t, err)
			require.True(t, r.OK(), "%+v", r)
			for _, f := range files {
				b, _ := getBlob(t, upSAS, f.Path)
				require.Equal(t, f.SHA256, sum(b), f.Path)
			}

			// --check against a container reads heads only and writes nothing.
			c, err := restore.Run(ctx, nil, in, plan, &restore.RunOptions{Check: true})
			require.NoError(t, err)
			require.Equal(t, len(files), c.Summary[restore.StatusChecked])
		})
	}
}

// TestRestoreContainerErrors: bad container URLs and options are refused
// before any request, and a destination SAS without write fails every file
// with a message that holds no SAS.
func TestRestoreContainerErrors(t *testing.T) {
	_, err := azblobcrypt.NewContainer("not a url", nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "sig=")
	_, err = azblobcrypt.NewContainer("https://a.blob.core.windows.net/c?sig=x", &azblobcrypt.ContainerOptions{Workers: 1000})
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)

	src := azuritetest.NewContainer(t)
	srcSAS := src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(testvectors.Dir, "restore", "vod", "enc"))
	in, err := azblobcrypt.NewContainer(srcSAS, nil)
	require.NoError(t, err)
	// A read-only SAS as the destination: every file fails with one clear
	// line, nothing is committed.
	empty := azuritetest.NewContainer(t)
	ro, err := azblobcrypt.NewContainer(empty.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), nil)
	require.NoError(t, err)
	r, err := restore.Run(context.Background(), ro, in, fixturePlan(t, "vod/keys/v3.json"), nil)
	require.NoError(t, err)
	require.False(t, r.OK())
	for _, f := range r.Files {
		require.Equal(t, restore.StatusFailed, f.Status, f.Name)
		require.False(t, strings.Contains(f.Error, "sig="), f.Error)
		require.Contains(t, f.Error, "does not grant", f.Name)
	}
}

// TestRestoreWithoutRead: a destination SAS that may create, write and
// list but not read serves a first run into an empty container; a run that
// resumes must read what is there, and its error says so.
func TestRestoreWithoutRead(t *testing.T) {
	ctx := context.Background()
	src := azuritetest.NewContainer(t)
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(testvectors.Dir, "restore", "vod", "enc"))
	in, err := azblobcrypt.NewContainer(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), nil)
	require.NoError(t, err)
	dst := azuritetest.NewContainer(t)
	out, err := azblobcrypt.NewContainer(dst.SAS(t, sas.ContainerPermissions{Create: true, Write: true, List: true}, time.Now().Add(time.Hour)),
		&azblobcrypt.ContainerOptions{BlockSize: 64 << 10})
	require.NoError(t, err)
	plan := fixturePlan(t, "vod/keys/v3.json")
	r, err := restore.Run(ctx, out, in, plan, nil)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	readSAS := dst.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
	for _, f := range fixtureFiles(t, "vod") {
		b, _ := getBlob(t, readSAS, f.Path)
		require.Equal(t, f.SHA256, sum(b), f.Path)
	}

	out, err = azblobcrypt.NewContainer(dst.SAS(t, sas.ContainerPermissions{Create: true, Write: true, List: true}, time.Now().Add(time.Hour)), nil)
	require.NoError(t, err)
	again, err := restore.Run(ctx, out, in, plan, nil)
	require.NoError(t, err)
	require.Equal(t, len(r.Files), again.Summary[restore.StatusFailed])
	require.Contains(t, again.Files[0].Error, "give the destination SAS read permission (sp=r)")
	require.NotContains(t, again.Files[0].Error, "sig=")
}
