package restore_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// truncations returns the lengths to cut a file of the given format to:
// every top-level box boundary and a point inside each box of an ISO-BMFF
// file, a point inside a TS packet, the last bytes of anything else. A cut
// just before a fragment (moof, or the mfra index after the last one) is
// left out: it leaves a fragmented file that is whole by its own structure,
// shorter (only a size in the export can tell).
func truncations(t *testing.T, f media.Format, data []byte) []int {
	n := len(data)
	switch f {
	case media.FormatISOBMFF:
		var cuts []int
		for off := 0; off < n; {
			size := int(binary.BigEndian.Uint32(data[off:]))
			require.GreaterOrEqual(t, size, 8, "fixture box at %d", off)
			if typ := string(data[off+4 : off+8]); off > 0 && typ != "moof" && typ != "mfra" {
				cuts = append(cuts, off) // a boundary: the next boxes are lost
			}
			cuts = append(cuts, off+size/2) // inside the box (moov, mdat, moof)
			off += size
		}
		return cuts
	case media.FormatMPEGTS:
		return []int{n - 100, n - 188 - 1}
	case media.FormatWebVTT:
		// Inside the last cue's timing line: cue text and trailing blank
		// lines may end anywhere.
		return []int{bytes.LastIndex(data, []byte("-->")) + 2}
	case media.FormatXML:
		// Inside the root element's end tag, past any trailing white space.
		end := len(bytes.TrimRight(data, " \t\r\n"))
		return []int{end - 1, end - 3}
	}
	return []int{n - 1, n - 2}
}

// TestRestoreVerifiesWholeStructure: files made by ffmpeg, encrypted by
// openssl (or Python), named by a v3 export, which records no sizes. Every
// intact file restores verified "structure"; every truncation, at each
// box boundary, inside moov, mdat and moof, inside a TS packet and in the
// last bytes of a JPEG, PNG, XML and WebVTT file, fails by its structure,
// and nothing is written for it; --check finds the same.
func TestRestoreVerifiesWholeStructure(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	in := t.TempDir()
	type entry struct {
		IV   string `json:"initializationVector"`
		Name string `json:"assetFileName"`
	}
	var entries []entry
	intact, cut := map[string]bool{}, map[string]bool{}
	add := func(name string, plain []byte) {
		iv := uint64(len(entries))*0x9E3779B97F4A7C15 + 1
		require.NoError(t, os.WriteFile(filepath.Join(in, name), testvectors.AES256CTR(t, key, iv, plain), 0o600))
		entries = append(entries, entry{strconv.FormatUint(iv, 10), name})
	}
	for _, name := range []string{"progressive-faststart.mp4", "progressive-moov-end.mp4", "fragmented.mp4", "smooth.ismv",
		"stream.ts", "subs.vtt", "still.jpg", "still.png", "smooth.ismc"} {
		data := testvectors.Read(t, filepath.Join("media", name))
		add(name, data)
		intact[name] = true
		for _, n := range truncations(t, media.FormatOf(name, false), data) {
			c := fmt.Sprintf("cut-%d-%s", n, name)
			add(c, data[:n])
			cut[c] = true
		}
	}
	export, err := json.Marshal(map[string]any{"key": base64.StdEncoding.EncodeToString(key), "assetFileEncryptionMetadata": entries})
	require.NoError(t, err)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: export}}, nil)
	require.NoError(t, err)

	out := t.TempDir()
	for _, check := range []bool{false, true} {
		dst := out
		if check {
			dst = ""
		}
		r := run(t, dst, restore.Dir{Root: in}, plan, &restore.RunOptions{Check: check, ChunkSize: 4096})
		require.Len(t, r.Files, len(intact)+len(cut))
		for _, f := range r.Files {
			if intact[f.Name] {
				require.Contains(t, []restore.Status{restore.StatusRestored, restore.StatusChecked}, f.Status, "%s: %s", f.Name, f.Error)
				require.Equal(t, media.LevelStructure, f.Verified, f.Name)
				continue
			}
			require.Equal(t, restore.StatusFailed, f.Status, "check=%v: %s was not caught", check, f.Name)
			require.Contains(t, f.Error, "media: ", f.Name)
			require.Equal(t, media.LevelNone, f.Verified, f.Name)
			require.NoFileExists(t, filepath.Join(out, f.Name))
		}
	}
	report, err := json.Marshal(run(t, out, restore.Dir{Root: in}, plan, nil).Files[0])
	require.NoError(t, err)
	require.Contains(t, string(report), `"verified":false`, "a cut file")
	b, err := os.ReadFile(filepath.Join(out, "progressive-moov-end.mp4"))
	require.NoError(t, err)
	require.Equal(t, testvectors.Read(t, filepath.Join("media", "progressive-moov-end.mp4")), b)
}
