package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/cli"
)

// TestEmptyAndRepeatedFlags: an empty or blank value, or a flag given
// twice, is a usage error, never a default. Each case once meant a
// safeguard (the thumbprint pin, a fresh IV) silently switched off.
func TestEmptyAndRepeatedFlags(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(1000), 0o644))
	keyOut := filepath.Join(dir, "new.json")
	cert := td("rsa2048.crt.pem")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"keygen", "--cert", cert, "--protection-key-id", "", "--key-out", keyOut}, "--protection-key-id is empty"},
		{[]string{"keygen", "--cert", cert, "--protection-key-id", "  ", "--key-out", keyOut}, "--protection-key-id is empty"},
		{[]string{"rewrap", "--key-file", keyPath, "--cert", cert, "--protection-key-id", ""}, "--protection-key-id is empty"},
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--iv", ""}, "--iv is empty"},
		{[]string{"thumbprint", "--cert", cert, "--cert", cert}, "--cert is given twice"},
		{[]string{"keygen", "--cert", cert, "--key-out", keyOut, "--key-out", keyOut + "2"}, "--key-out is given twice"},
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--force", "--force"}, "--force is given twice"},
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--workers", "2", "--concurrency", "3"}, "--workers and --concurrency are the same flag"},
		{[]string{"upload", "--key-file", keyPath, "--in", in, "--url", ""}, "--url is empty"},
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", "-"}, "--out -"},
		// A malformed --iv or --name is usage in encrypt as in decrypt,
		// upload and download.
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--iv", "12abc"}, "--iv"},
		{[]string{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--name", "a/b.mp4"}, "--name"},
		{[]string{"download", "--key-file", keyPath, "--iv", "1", "--url", "https://h/c/b?sig=x", "--out", "-"}, "--out -"},
		// A private key beside a key file would be silently unused.
		{[]string{"rewrap", "--key-file", keyPath, "--pfx", td("rsa2048.modern.pfx"), "--cert", cert}, "--key-file needs neither"},
		{[]string{"rewrap", "--key-file", keyPath, "--private-key", td("rsa2048.pkcs8.key.pem"), "--cert", cert}, "--key-file needs neither"},
	} {
		r := amscrypt(t, nil, tt.args...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", tt.args, r.stderr)
		r.refused(t, tt.want)
	}
	requireOnlyFiles(t, dir, filepath.Base(keyPath), "in.mp4")
	// The alias works on its own.
	r := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, "o"), "--concurrency", "2")
	r.ok(t)
}

func TestVersion(t *testing.T) {
	r := amscrypt(t, nil, "--version")
	require.Equal(t, 0, r.code)
	require.True(t, strings.HasPrefix(r.stdout, "amscrypt "), r.stdout)
	require.Contains(t, r.stdout, "go1.")
}

// TestUnwrapRemovesKeyFileWhenPrintFails: nobody learns where the key went
// when stdout fails, so the file must go too, or a retry says "exists".
func TestUnwrapRemovesKeyFileWhenPrintFails(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	entity := filepath.Join(dir, "ck.json")
	ck := amscrypt(t, nil, "rewrap", "--key-file", keyPath, "--cert", td("rsa2048.crt.pem")).ok(t)
	require.NoError(t, os.WriteFile(entity, []byte(ck), 0o600))
	keyOut := filepath.Join(dir, "out.json")
	var errb bytes.Buffer
	code := run(&cli.Env{Program: "amscrypt", Ctx: t.Context(), Stdin: strings.NewReader(""), Stdout: failingWriter{}, Stderr: &errb,
		Getenv: func(string) string { return "" }}, []string{"unwrap", "--private-key", td("rsa2048.pkcs8.key.pem"), "--content-key", entity, "--key-out", keyOut})
	require.Equal(t, cli.ExitError, code, errb.String())
	requireNoFile(t, keyOut)
	amscrypt(t, nil, "unwrap", "--private-key", td("rsa2048.pkcs8.key.pem"), "--content-key", entity, "--key-out", keyOut).ok(t)
}

// TestDecryptChecksContentFileSize: with an AssetFile the ciphertext must
// fit the recorded plaintext size; the error gives both numbers.
func TestDecryptChecksContentFileSize(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "movie.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(10000), 0o644))
	enc := filepath.Join(dir, "movie.enc")
	af := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", enc).ok(t)
	afPath := filepath.Join(dir, "af.json")
	require.NoError(t, os.WriteFile(afPath, []byte(af), 0o600))
	whole, err := os.ReadFile(enc)
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	out := filepath.Join(dir, "out")
	for _, tt := range []struct {
		in     string
		offset string
		want   []string
	}{
		{write("short", whole[:9999]), "0", []string{"9999 bytes", "ContentFileSize 10000"}},
		{write("long", append(append([]byte{}, whole...), 0)), "0", []string{"10001 bytes", "ContentFileSize 10000"}},
		{write("empty", nil), "0", []string{"0 bytes", "ContentFileSize 10000"}},
		{write("tail", whole[5000:]), "5001", []string{"ends at 10001", "10000"}},
		{write("past", whole[:10]), "10001", []string{"--offset 10001 is past the end", "10000"}},
	} {
		r := amscrypt(t, nil, "decrypt", "--key-file", keyPath, "--asset-file", afPath, "--in", tt.in, "--out", out, "--offset", tt.offset)
		require.Equal(t, cli.ExitError, r.code, tt.in)
		r.refused(t, tt.want...)
		requireNoFile(t, out)
	}
	amscrypt(t, nil, "decrypt", "--key-file", keyPath, "--asset-file", afPath, "--in", write("range", whole[5000:]), "--out", out, "--offset", "5000").ok(t)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, plaintext(10000)[5000:], got)
}

func TestChecksumHexKeyHint(t *testing.T) {
	for _, hexKey := range []string{strings.Repeat("0f", 32), strings.Repeat("AB", 16)} {
		r := amscrypt(t, nil, "checksum", "--key", hexKey, "--key-id", "316d14d4-b603-4d90-b8db-0fede8aa48f8")
		r.refused(t, "taken as base64", "in hex")
		require.NotContains(t, r.stderr, hexKey, "the key is echoed")
	}
}

// TestSignalsLeaveNothing sends each signal that ends a process by default
// to a running decrypt: the process exits non-zero (128+signal) and the
// output directory is left empty.
func TestSignalsLeaveNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and decrypts a large file")
	}
	bin := buildCLI(t)
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "big.enc")
	f, err := os.Create(in)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(8<<30)) // sparse: costs no disk to read
	require.NoError(t, f.Close())
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE} {
		outDir := t.TempDir()
		for _, args := range [][]string{
			{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", in, "--out", filepath.Join(outDir, "big.dec")},
			{"encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(outDir, "big.enc")},
		} {
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if sig == syscall.SIGPIPE {
				// A SIGPIPE counts only when the command's own output is
				// a pipe nobody reads any more (see internal/cli).
				r, w, err := os.Pipe()
				require.NoError(t, err)
				cmd.Stdout = w
				require.NoError(t, r.Close())
				defer w.Close()
			}
			require.NoError(t, cmd.Start())
			// Let it get well into writing the output, then signal.
			time.Sleep(400 * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(sig))
			err := cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s %s: exited 0", sig, args[0])
			require.Equal(t, 128+int(sig), exit.ExitCode(), "%s %s: %s", sig, args[0], stderr.String())
			require.Contains(t, stderr.String(), "nothing partial was left behind")
			requireOnlyFiles(t, outDir)
		}
	}
}

// TestForceNeverReplacesSpecialFiles: --force may replace a regular file or
// a symbolic link, never a device, FIFO, socket or directory.
func TestForceNeverReplacesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(5000), 0o644))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))
	targets := map[string]string{fifo: "FIFO", sub: "directory"}
	if os.Geteuid() == 0 {
		targets["/dev/full"] = "device"
	}
	for path, what := range targets {
		for _, args := range [][]string{
			{"encrypt", "--key-file", keyPath, "--in", in, "--out", path, "--force"},
			{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", in, "--out", path, "--force"},
		} {
			r := amscrypt(t, nil, args...)
			require.Equal(t, cli.ExitError, r.code, "%v", args)
			r.refused(t, path, what)
		}
		info, err := os.Lstat(path)
		require.NoError(t, err)
		require.False(t, info.Mode().IsRegular(), "%s was turned into a regular file", path)
	}
	// A symbolic link is replaced by the file; its target is left alone.
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o600))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(target, link))
	amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", link, "--force").ok(t)
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
	info, err := os.Lstat(link)
	require.NoError(t, err)
	require.True(t, info.Mode().IsRegular())
}

func TestPEMGivenAsPFX(t *testing.T) {
	dir := t.TempDir()
	r := amscrypt(t, nil, "unwrap", "--pfx", td("rsa2048.pkcs8.key.pem"), "--content-key", restoreFixture("vod", "keys", "contentkey.json"),
		"--key-out", filepath.Join(dir, "k.json"))
	r.refused(t, "PEM", "--private-key takes a PEM private key")
	require.NotContains(t, r.stderr, "asn1")
	requireOnlyFiles(t, dir)
}

// TestStaleTempFileRemovedAndReported: a temporary file that a killed run
// left (where unnamed files are not available) is removed by the next
// command writing into that directory, which says so on stderr.
func TestStaleTempFileRemovedAndReported(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(1000), 0o644))
	outDir := t.TempDir()
	stale := filepath.Join(outDir, ".old.enc.amscrypt-tmp-0123456789abcdef")
	require.NoError(t, os.WriteFile(stale, []byte("partial"), 0o600))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))
	notOurs := filepath.Join(outDir, ".old.enc.tmp-123")
	require.NoError(t, os.WriteFile(notOurs, nil, 0o600))
	r := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(outDir, "new.enc"))
	r.ok(t)
	require.Contains(t, r.stderr, "removed "+stale)
	requireOnlyFiles(t, outDir, "new.enc", ".old.enc.tmp-123")
}

// TestSignalEndsABlockedCommand: a command blocked where no context reaches
// (reading a FIFO whose writer never writes) still ends on SIGTERM, within
// the grace period, with 128+15 and one line on stderr.
func TestSignalEndsABlockedCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildCLI(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "keys")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	// Hold a write end open and write nothing.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	require.NoError(t, err)
	defer w.Close()
	cmd := exec.Command(bin, "restore", "--keys", fifo, "--in", dir, "--check")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 128+int(syscall.SIGTERM), exit.ExitCode())
	require.Less(t, time.Since(start), 8*time.Second)
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
	require.Contains(t, stderr.String(), "stopped by SIGTERM")

	// A FIFO nobody writes is read as empty: a clear error, at once.
	lone := filepath.Join(dir, "lone")
	require.NoError(t, syscall.Mkfifo(lone, 0o600))
	r := amscrypt(t, nil, "restore", "--keys", lone, "--in", dir, "--check")
	r.refused(t, "lone")
}

// TestKeyOutputsRefuseDash: "-" names standard output to the commands; an
// output holding a key is never written to a file named "-".
func TestKeyOutputsRefuseDash(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	keys := []string{"--keys", restoreFixture("vod", "keys", "v3.json")}
	amscrypt(t, nil, append([]string{"manifest", "--out", "-"}, keys...)...).refused(t, `file named "-"`)
	amscrypt(t, nil, "keygen", "--cert", td("rsa2048.crt.pem"), "--key-out", "-").refused(t, `file named "-"`)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestWorkersRange: --workers (or --concurrency) 0, negative, past the
// bound or not a number is a usage error in every command that takes it.
func TestWorkersRange(t *testing.T) {
	for _, cmd := range [][]string{
		{"restore", "--keys", "k", "--in", "i", "--check"},
		{"encrypt", "--key-file", "k", "--in", "i", "--out", "o"},
		{"decrypt", "--key-file", "k", "--in", "i", "--out", "o", "--iv", "1"},
	} {
		for _, w := range []string{"0", "-1", "100000", "two"} {
			r := amscrypt(t, nil, append(cmd, "--workers", w)...)
			require.Equal(t, cli.ExitUsage, r.code, "%v --workers %s: %s", cmd, w, r.stderr)
			require.Contains(t, r.stderr, `--workers: "`+w+`" is not a whole number from 1 to`)
		}
	}
}

// TestSIGPIPEOnStdoutOneLine: a reader of stdout that goes away (`| head
// -c1`) ends the command with 128+SIGPIPE and the one line saying so, never a
// silent death by the next write's SIGPIPE nor a write error beside it.
func TestSIGPIPEOnStdoutOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildCLI(t)
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "big.enc")
	f, err := os.Create(in)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(2<<30)) // sparse
	require.NoError(t, f.Close())
	for _, args := range [][]string{
		{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", in, "--out", "-"},
		// The report is written after the work: its write fails with EPIPE.
		{"restore", "--keys", restoreFixture("vod", "keys", "v3.json"), "--in", restoreFixture("vod", "enc"), "--check"},
	} {
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		r, w, err := os.Pipe()
		require.NoError(t, err)
		cmd.Stdout = w
		require.NoError(t, cmd.Start())
		require.NoError(t, w.Close())
		if args[0] == "decrypt" {
			_, err = r.Read(make([]byte, 1)) // head -c1
			require.NoError(t, err)
		}
		require.NoError(t, r.Close())
		err = cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s exited 0", args[0])
		require.Equal(t, 128+int(syscall.SIGPIPE), exit.ExitCode(), "%s: %q", args[0], stderr.String())
		require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "%s: %q", args[0], stderr.String())
		require.Contains(t, stderr.String(), "stopped by SIGPIPE")
	}
}

// TestSASWithoutSchemeNotADirectory: a container SAS URL missing its
// https:// (in an @FILE or given directly) is refused, unquoted, instead of
// being taken as a directory: quoted in errors with its signature, and as
// --out written to, plaintext and all, under a local directory named after it.
func TestSASWithoutSchemeNotADirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	const sas = "acct.blob.core.windows.net/c?sv=2020&sig=SECRETSIG"
	require.NoError(t, os.WriteFile("out.url", []byte(sas+"\n"), 0o600))
	require.NoError(t, os.WriteFile("environ", []byte("A=1\x00PW=SECRETSIG\x00"), 0o600))
	keys := restoreFixture("vod", "keys", "v3.json")
	enc := restoreFixture("vod", "enc")
	for _, args := range [][]string{
		{"restore", "--keys", keys, "--in", enc, "--out", "@out.url"},
		{"restore", "--keys", keys, "--in", "@out.url", "--check"},
		{"restore", "--keys", keys, "--in", sas, "--check"},
		{"restore", "--keys", keys, "--in", enc, "--out", sas},
		{"restore", "--keys", keys, "--in", "@environ", "--check"},
		{"serve", "--keys", keys, "--in", "@out.url"},
	} {
		r := amscrypt(t, nil, args...)
		require.NotEqual(t, cli.ExitOK, r.code, "%v", args)
		require.NotContains(t, r.stderr+r.stdout, "SECRETSIG", "%v", args)
	}
	requireOnlyFiles(t, dir, "out.url", "environ")
}
