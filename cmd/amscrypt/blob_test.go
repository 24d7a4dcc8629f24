package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/keyfile"
)

// buildCLI builds the command with go build, as a user would.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "amscrypt")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCLI(t *testing.T, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// failsWith checks a failure: the exit status, and one line on stderr that
// contains want and no SAS signature.
func (r result) failsWith(t *testing.T, code int, want string) {
	t.Helper()
	if r.code != code || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
		!strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "sig=") {
		t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and one line on stderr containing %q", r.code, r.stdout, r.stderr, code, want)
	}
}

func TestHelp(t *testing.T) {
	bin := buildCLI(t)
	for _, cmd := range []string{"upload", "download"} {
		r := runCLI(t, bin, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: amscrypt "+cmd) || !strings.Contains(r.stdout, "-key-file") || r.stderr != "" {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", cmd, r.code, r.stdout, r.stderr)
		}
	}
	runCLI(t, bin, "upload", "--in", "x").failsWith(t, 2, "--key-file is required")
	runCLI(t, bin, "download", "--key-file", "k", "--out", "o", "--url", "u").failsWith(t, 2, "exactly one of --iv and --asset-file")
	runCLI(t, bin, "download", "--key-file", "k", "--iv", "1", "--asset-file", "a", "--out", "o", "--url", "u").failsWith(t, 2, "exactly one of --iv and --asset-file")
	runCLI(t, bin, "download", "--key-file", "k", "--iv", "1x", "--out", "o", "--url", "u").failsWith(t, 2, "not a decimal digit")
	runCLI(t, bin, "frobnicate").failsWith(t, 2, "unknown command")
	for _, cmd := range [][]string{{"upload", "--in", "x"}, {"download", "--iv", "1", "--out", "o"}} {
		for _, bad := range [][]string{{"--concurrency", "0"}, {"--concurrency", "257"}, {"--block-size", "0"}, {"--block-size", "4001MiB"}} {
			want := "--concurrency: \"" + bad[1] + "\" is not a whole number from 1 to 256"
			if bad[0] == "--block-size" {
				want = "--block-size must be 1 byte to 4000MiB"
			}
			runCLI(t, bin, slices.Concat(cmd, []string{"--key-file", "k", "--url", "u"}, bad)...).failsWith(t, 2, want)
		}
	}
}

func TestCLIEndToEnd(t *testing.T) {
	c := azuritetest.NewContainer(t)
	sasURL := c.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	bin := buildCLI(t)
	dir := t.TempDir()

	keyID, _ := contentkey.NewID()
	key, _ := contentkey.New(contentkey.StorageEncryption)
	keyFile := filepath.Join(dir, "key.json")
	if err := keyfile.Write(keyFile, key, keyID); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 300_000)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	in := filepath.Join(dir, "movie.mp4")
	os.WriteFile(in, data, 0o600)
	// The SAS goes in a file, not on the command line.
	urlFile := filepath.Join(dir, "locator")
	os.WriteFile(urlFile, []byte(sasURL+"\n"), 0o600)

	const iv = "397304628502661816"
	up := runCLI(t, bin, "upload", "--key-file", keyFile, "--in", in, "--url", "@"+urlFile,
		"--iv", iv, "--block-size", "64KiB", "--concurrency", "3", "--state-dir", filepath.Join(dir, "state"), "--quiet")
	if up.code != 0 {
		t.Fatalf("upload: exit %d: %s", up.code, up.stderr)
	}
	parsedIV, _ := contentkey.ParseIV(iv)
	want, _ := envelope.NewAssetFile("movie.mp4", int64(len(data)), keyID, parsedIV)
	wantJSON, _ := json.Marshal(want)
	// stdout is the one document; stderr holds only the warning a chosen IV gets.
	if up.stdout != string(wantJSON)+"\n" || !strings.Contains(up.stderr, "--iv reuses an IV") || strings.Count(up.stderr, "\n") != 1 {
		t.Fatalf("upload printed stdout %q, stderr %q; want exactly %s and a newline, and one warning line", up.stdout, up.stderr, wantJSON)
	}
	assetFile := filepath.Join(dir, "asset.json")
	os.WriteFile(assetFile, []byte(up.stdout), 0o600)
	blobURL, _ := envelope.UploadURL(sasURL, "movie.mp4")

	check := func(t *testing.T, out string, want []byte) {
		t.Helper()
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes of the source", out, len(got), err, len(want))
		}
	}
	out := filepath.Join(dir, "whole")
	if r := runCLI(t, bin, "download", "--key-file", keyFile, "--asset-file", assetFile, "--url", blobURL, "--out", out, "--quiet"); r.code != 0 || r.stdout != "" {
		t.Fatalf("download: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	check(t, out, data)

	out = filepath.Join(dir, "range")
	if r := runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", out,
		"--offset", "65530", "--length", "70000", "--block-size", "16K"); r.code != 0 {
		t.Fatalf("ranged download: exit %d: %s", r.code, r.stderr)
	}
	check(t, out, data[65530:65530+70000])

	out = filepath.Join(dir, "tail")
	if r := runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", out, "--offset", "299999"); r.code != 0 {
		t.Fatalf("download to the end: exit %d: %s", r.code, r.stderr)
	}
	check(t, out, data[299999:])

	past := filepath.Join(dir, "past")
	runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", past,
		"--offset", "299990", "--length", "11").failsWith(t, 1, "invalid options: bytes 299990..300001 requested, the file has 300000")
	if _, err := os.Stat(past); err == nil {
		t.Error("a refused range left its output file")
	}

	// Existing output: refused, then replaced with --force.
	out = filepath.Join(dir, "whole")
	runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", out, "--offset", "5").failsWith(t, 1, "--force")
	check(t, out, data)
	if r := runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", out, "--offset", "5", "--force"); r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.stderr)
	}
	check(t, out, data[5:])

	// --force never replaces the key file or the AssetFile the command reads.
	keyBefore, _ := os.ReadFile(keyFile)
	runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", blobURL, "--out", keyFile, "--force").
		failsWith(t, 1, "--key-file")
	runCLI(t, bin, "download", "--key-file", keyFile, "--asset-file", assetFile, "--url", blobURL, "--out", assetFile, "--force").
		failsWith(t, 1, "--asset-file")
	if keyAfter, _ := os.ReadFile(keyFile); !bytes.Equal(keyBefore, keyAfter) {
		t.Fatal("download --force replaced its own key file")
	}

	// An AssetFile for another key is refused before any download.
	otherID, _ := contentkey.NewID()
	otherKeyFile := filepath.Join(dir, "other.json")
	keyfile.Write(otherKeyFile, key, otherID)
	runCLI(t, bin, "download", "--key-file", otherKeyFile, "--asset-file", assetFile, "--url", blobURL, "--out", filepath.Join(dir, "x")).
		failsWith(t, 1, "does not match the key file's Id "+otherID.String())

	// Storage errors are one line without the SAS.
	ro := c.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
	runCLI(t, bin, "upload", "--key-file", keyFile, "--in", in, "--url", ro, "--name", "denied.mp4", "--state-dir", filepath.Join(dir, "state")).
		failsWith(t, 1, "does not grant the permission")
	missing, _ := envelope.UploadURL(sasURL, "missing.mp4")
	runCLI(t, bin, "download", "--key-file", keyFile, "--iv", iv, "--url", missing, "--out", filepath.Join(dir, "m")).
		failsWith(t, 1, "blob does not exist")
	runCLI(t, bin, "upload", "--key-file", keyFile, "--in", in, "--url", sasURL, "--name", "a.b.mp4").failsWith(t, 1, "a.b.mp4")
}

// TestCLIRestoreContainers runs amscrypt restore container to container on
// Azurite, with the SAS URLs in files: every plaintext matches the digests
// Python computed, the report's in and out carry no SAS, and a second run
// transfers nothing.
func TestCLIRestoreContainers(t *testing.T) {
	src := azuritetest.NewContainer(t)
	azuritetest.PutFiles(t, src.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(td("restore"), "vod", "enc"))
	dst := azuritetest.NewContainer(t)
	bin := buildCLI(t)
	dir := t.TempDir()
	inFile, outFile := filepath.Join(dir, "in.url"), filepath.Join(dir, "out.url")
	os.WriteFile(inFile, []byte(src.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))+"\n"), 0o600)
	dstSAS := dst.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
	os.WriteFile(outFile, []byte(dstSAS), 0o600)
	args := []string{"restore", "--keys", filepath.Join(td("restore"), "vod", "keys", "v3.json"), "--in", "@" + inFile, "--out", "@" + outFile, "--quiet"}
	r := runCLI(t, bin, args...)
	if r.code != 0 || !strings.Contains(r.stdout, `"summary":{"restored":12}`) || strings.Contains(r.stdout+r.stderr, "sig=") {
		t.Fatalf("restore: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	var exp struct {
		Assets map[string]struct {
			Files []struct{ Path, SHA256 string }
		}
	}
	b, _ := os.ReadFile(filepath.Join(td("restore"), "expected.json"))
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	for _, f := range exp.Assets["vod"].Files {
		resp, err := http.Get(azuritetest.BlobURL(dstSAS, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != f.SHA256 {
			t.Errorf("%s: the restored blob is not the plaintext", f.Path)
		}
	}
	if r := runCLI(t, bin, args...); r.code != 0 || !strings.Contains(r.stdout, `"summary":{"skipped":12}`) {
		t.Fatalf("second run: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	// A batch line naming containers reports them without the SAS.
	batch := filepath.Join(dir, "batch.jsonl")
	os.WriteFile(batch, []byte(fmt.Sprintf(`{"in":"@in.url","out":"@out.url","keys":[%q]}`+"\n", filepath.Join(td("restore"), "vod", "keys", "v3.json"))), 0o600)
	r = runCLI(t, bin, "restore", "--batch", batch, "--quiet")
	if r.code != 0 || strings.Contains(r.stdout, "sig=") || !strings.Contains(r.stdout, `"out":"`+dst.URL+`"`) {
		t.Fatalf("batch: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
}
