//go:build measure

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/keyfile"
)

// TestMeasureRestoreRSS is a measurement, not a check, built only with
// -tags measure (scripts/test-azurite -tags measure -run TestMeasure): it uploads an asset of one blob of
// 64 MiB and one of 1 GiB with amscrypt upload, restores each container to
// container under /usr/bin/time, and logs wall time and peak RSS, which
// bench/README.md records.
func TestMeasureRestoreRSS(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.json")
	keyID, _ := contentkey.NewID()
	key, _ := contentkey.New(contentkey.StorageEncryption)
	if err := keyfile.Write(keyFile, key, keyID); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{64 << 20, 1 << 30} {
		src, dst := azuritetest.NewContainer(t), azuritetest.NewContainer(t)
		in := filepath.Join(dir, "movie.mp4")
		f, _ := os.Create(in)
		f.Write(testvectors.MP4Header(size))
		f.Truncate(size)
		f.Close()
		up := runCLI(t, bin, "upload", "--key-file", keyFile, "--in", in, "--url", src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), "--state-dir", dir, "--quiet")
		if up.code != 0 {
			t.Fatal(up.stderr)
		}
		af := filepath.Join(dir, "af.json")
		os.WriteFile(af, []byte(up.stdout), 0o600)
		r := runCLI(t, "/usr/bin/time", "-f", "%e s %M KiB", bin, "restore", "--keys", keyFile, "--keys", af,
			"--in", src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour)), "--out", dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), "--quiet")
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		t.Logf("restore container to container, one blob of %d MiB: %s", size>>20, strings.TrimSpace(r.stderr))
	}
}
