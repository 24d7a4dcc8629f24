package testvectors

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EncryptLiveArchive storage-encrypts the fixture live archive
// (testdata/livearchive/archive) with testdata/livearchive/encrypt_livearchive.py,
// Python's cryptography rather than this module's cipher, into a new
// temporary directory: it returns that directory and the v3
// getEncryptionKey export the script wrote. args go to the script
// (--untimed-last STREAM). The test is skipped when python3 has no
// cryptography package (CI installs it).
func EncryptLiveArchive(tb testing.TB, args ...string) (dir string, keys []byte) {
	tb.Helper()
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		tb.Skipf("python3 with cryptography not found (CI has it): %v", err)
	}
	tmp := tb.TempDir()
	dir, keysPath := filepath.Join(tmp, "enc"), filepath.Join(tmp, "keys.json")
	cmd := exec.Command("python3", append([]string{filepath.Join(Dir, "livearchive", "encrypt_livearchive.py"),
		"--in", filepath.Join(Dir, "livearchive", "archive"), "--out", dir, "--keys-out", keysPath}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("encrypt_livearchive.py: %v\n%s", err, out)
	}
	keys, err := os.ReadFile(keysPath)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, keys
}
