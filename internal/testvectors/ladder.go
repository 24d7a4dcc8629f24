package testvectors

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Ladder makes the packaging test assets with testdata/package/make_ladder.sh
// (ffmpeg for the media, Python's cryptography for the encryption) in a new
// temporary directory and returns it: plain/ and enc/ + keys.json (a
// three-rendition ladder with two audio languages, WebVTT and its .ism),
// single-plain/ and single-enc/ + single-keys.json (one interleaved MP4),
// multi-enc/ + multi-keys.json (the ladder with a second .ism). The test
// is skipped without ffmpeg or python3 with cryptography (CI has both).
func Ladder(tb testing.TB) string {
	tb.Helper()
	NeedFFmpeg(tb)
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		tb.Skipf("python3 with cryptography not found (CI has it): %v", err)
	}
	dir := tb.TempDir()
	if err := MakeLadder(dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// LadderKeys returns the key export of the ladder made in fx (its
// keys.json), with each file named in wrongIV given an IV it was not
// encrypted with, so that its head check fails.
func LadderKeys(tb testing.TB, fx string, wrongIV ...string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(fx, "keys.json"))
	if err != nil || len(wrongIV) == 0 {
		if err != nil {
			tb.Fatal(err)
		}
		return data
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	files, _ := doc["assetFileEncryptionMetadata"].([]any)
	for _, name := range wrongIV {
		found := false
		for _, e := range files {
			if m, ok := e.(map[string]any); ok && m["assetFileName"] == name {
				m["initializationVector"], found = "12345", true
			}
		}
		if !found {
			tb.Fatalf("the ladder's keys.json names no %s", name)
		}
	}
	if data, err = json.Marshal(doc); err != nil {
		tb.Fatal(err)
	}
	return data
}

// MakeLadder runs make_ladder.sh into dir, for tests that share one
// fixture (Ladder is the one-test form, with the skips).
func MakeLadder(dir string) error {
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		return fmt.Errorf("python3 with cryptography not found (CI has it): %v", err)
	}
	out, err := exec.Command("bash", filepath.Join(Dir, "package", "make_ladder.sh"), dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("make_ladder.sh: %v\n%s", err, out)
	}
	return nil
}

// NeedFFmpeg skips the test when ffmpeg or ffprobe is not installed.
func NeedFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			tb.Skipf("%s not found (CI installs it)", p)
		}
	}
}

// FrameMD5 returns ffmpeg's framemd5 lines (stream, dts, pts, duration,
// size, MD5 of each packet) of the stream spec of in, copied without
// decoding: equal lists mean the same samples at the same times.
func FrameMD5(tb testing.TB, in, stream string) []string {
	tb.Helper()
	args := []string{"-nostdin", "-v", "error"}
	if strings.HasSuffix(in, ".mpd") {
		// ffmpeg's DASH demuxer refuses a .vtt representation unless told.
		args = append(args, "-allowed_extensions", "ALL")
	}
	args = append(args, "-i", in, "-map", stream, "-c", "copy", "-f", "framemd5", "-")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		tb.Fatalf("ffmpeg framemd5 of %s %s: %v", in, stream, err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	return lines
}
