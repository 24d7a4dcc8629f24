package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/cli"
)

// smallDisk mounts a tmpfs of the given size, or skips the test when this
// process may not mount (not root, or no mount namespace rights).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full-disk test needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// TestEncryptDiskFull fills a 1 MiB filesystem half-way through a 3 MiB
// file: the command fails, says so, leaves no partial file, and the input is
// untouched.
func TestEncryptDiskFull(t *testing.T) {
	full := smallDisk(t, "1m")
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "big.mp4")
	data := plaintext(3 << 20)
	require.NoError(t, os.WriteFile(in, data, 0o644))
	before := runtime.NumGoroutine()

	for _, cmd := range [][]string{
		{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(full, "big.enc")},
		{"decrypt", "--key-file", keyPath, "--iv", "7", "--in", in, "--out", filepath.Join(full, "big.dec")},
	} {
		r := amscrypt(t, nil, cmd...)
		r.refused(t, "no space left on device")
		requireOnlyFiles(t, full)
	}
	got, err := os.ReadFile(in)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "input changed")
	requireNoGoroutineLeak(t, before)
}

// TestCancelledRunLeavesNothing is what Ctrl-C does: the context is
// cancelled, the command fails, and no output or temporary file remains.
func TestCancelledRunLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "clip.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(8<<20), 0o644))
	outDir := t.TempDir()
	before := runtime.NumGoroutine()
	for _, args := range [][]string{
		{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(outDir, "x.enc")},
		{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", in, "--out", filepath.Join(outDir, "x.dec")},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb bytes.Buffer
		code := run(&cli.Env{Program: "amscrypt", Ctx: ctx, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, args)
		require.NotEqual(t, 0, code)
		require.Empty(t, out.String())
		require.Empty(t, errb.String(), "cli.Main prints the one line that names the signal")
		requireOnlyFiles(t, outDir)
	}
	requireNoGoroutineLeak(t, before)
}

func requireNoGoroutineLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines leaked")
}

// TestBinaryExitStatus runs the built binary, to pin what scripts see: the
// exit status, and stdout holding one JSON document or nothing.
func TestBinaryExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "amscrypt")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := t.TempDir()
	keyOut := filepath.Join(dir, "k.json")

	cmd := exec.Command(bin, "keygen", "--cert", td("ams-protection-cert.json"), "--key-out", keyOut)
	stdout, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, 1, bytes.Count(stdout, []byte("\n")))
	require.True(t, bytes.HasPrefix(stdout, []byte(`{"Id":"nb:kid:UUID:`)))

	cmd = exec.Command(bin, "keygen", "--cert", td("ec-p256.crt.pem"), "--key-out", filepath.Join(dir, "k2.json"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err = cmd.Output()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, cli.ExitError, exit.ExitCode())
	require.Empty(t, stdout)
	require.Contains(t, stderr.String(), "not RSA")
	requireOnlyFiles(t, dir, "k.json")

	err = exec.Command(bin, "encrypt", "--in").Run()
	require.ErrorAs(t, err, &exit)
	require.Equal(t, cli.ExitUsage, exit.ExitCode())
}
