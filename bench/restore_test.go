package bench

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// restoreAsset is the restore benchmarks' fixture: an encrypted asset of
// files whose sizes add up to total, in dir/enc, and its plan. The files
// are named video_N.bin: a format no verifier checks.
func restoreAsset(b *testing.B, dir string, sizes []int) (src string, plan *keyexport.Plan, total int64) {
	return restoreAssetAs(b, dir, sizes, ".bin")
}

// restoreAssetAs is restoreAsset with names ending in ext; with ".mp4"
// each file is a whole progressive MP4 (testvectors.MP4Header), which
// restore verifies box by box as it streams.
func restoreAssetAs(b *testing.B, dir string, sizes []int, ext string) (src string, plan *keyexport.Plan, total int64) {
	b.Helper()
	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	src = filepath.Join(dir, "enc")
	if err := os.MkdirAll(src, 0o700); err != nil {
		b.Fatal(err)
	}
	kf := filepath.Join(dir, "key.json")
	if err := keyfile.Write(kf, key, id); err != nil {
		b.Fatal(err)
	}
	docs := []keyexport.Document{{Name: kf, Data: mustRead(b, kf)}}
	plain := filepath.Join(dir, "plain")
	for i, n := range sizes {
		name := fmt.Sprintf("video_%d%s", i, ext)
		writePseudoRandom(b, plain, n)
		if ext == ".mp4" {
			f, err := os.OpenFile(plain, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.Write(testvectors.MP4Header(int64(n)))
				err = errors.Join(err, f.Close())
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		docs = append(docs, encryptAssetFile(b, filepath.Join(src, name), plain, key, id))
		total += int64(n)
	}
	os.Remove(plain)
	if plan, err = keyexport.NewPlan(docs, nil); err != nil {
		b.Fatal(err)
	}
	return src, plan, total
}

// encryptAssetFile encrypts plain to dst and returns its AssetFile (what
// encrypt prints) as a key export document naming the file by dst's base.
func encryptAssetFile(b *testing.B, dst, plain string, key contentkey.Key, id contentkey.ID) keyexport.Document {
	b.Helper()
	res, err := blobcrypt.EncryptFile(context.Background(), dst, plain, key, nil)
	if err != nil {
		b.Fatal(err)
	}
	name := filepath.Base(dst)
	af, err := envelope.NewAssetFile(name, res.Size, id, res.IV)
	if err != nil {
		b.Fatal(err)
	}
	body, err := af.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	return keyexport.Document{Name: name + ".json", Data: body}
}

func mustRead(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkRestoreAsset restores a 1 GiB asset of eight files (four of
// 200 MiB, four of 56 MiB) directory to directory, decrypting and hashing
// every byte, beside cp -r of the same tree in the same run. Both write a
// fresh output directory each time; removing it is kept out of the timing.
// On tmpfs when /dev/shm exists.
func BenchmarkRestoreAsset(b *testing.B) {
	dir := benchDir(b)
	src, plan, total := restoreAsset(b, dir, []int{200 * mib, 200 * mib, 200 * mib, 200 * mib, 56 * mib, 56 * mib, 56 * mib, 56 * mib})
	out := filepath.Join(dir, "out")
	run := map[string]func() error{
		"restore": func() error {
			r, err := restore.Run(context.Background(), restore.Dir{Root: out}, restore.Dir{Root: src}, plan, nil)
			if err == nil && r.Summary[restore.StatusRestored] != 8 {
				err = fmt.Errorf("restored %v", r.Summary)
			}
			return err
		},
		"cp-r": func() error { return exec.Command("cp", "-r", src, out).Run() },
	}
	for _, name := range []string{"restore", "cp-r"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				b.StopTimer()
				if err := os.RemoveAll(out); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := run[name](); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestoreVerify restores the same 512 MiB of four files directory
// to directory twice per round, alternating: named .mp4, so that every byte
// also passes media's streaming Verifier beside the SHA-256, and named
// .bin, which nothing verifies. It reports the median over the rounds of
// the verified restore's throughput over the unverified one's (goal:
// 0.97x or more).
func BenchmarkRestoreVerify(b *testing.B) {
	dir := benchDir(b)
	sizes := []int{128 * mib, 128 * mib, 128 * mib, 128 * mib}
	mp4, mp4Plan, total := restoreAssetAs(b, filepath.Join(dir, "mp4"), sizes, ".mp4")
	bin, binPlan, _ := restoreAssetAs(b, filepath.Join(dir, "bin"), sizes, ".bin")
	out := filepath.Join(dir, "out")
	timed := func(src string, plan *keyexport.Plan, want media.Level) time.Duration {
		if err := os.RemoveAll(out); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		r, err := restore.Run(context.Background(), restore.Dir{Root: out}, restore.Dir{Root: src}, plan, nil)
		d := time.Since(start)
		if err != nil || !r.OK() || r.Files[0].Verified != want {
			b.Fatalf("%v %+v", err, r)
		}
		return d
	}
	var ratios []float64
	b.SetBytes(2 * total)
	for i := 0; b.Loop(); i++ {
		var v, u time.Duration
		if i%2 == 0 {
			v, u = timed(mp4, mp4Plan, media.LevelStructure), timed(bin, binPlan, media.LevelNone)
		} else {
			u, v = timed(bin, binPlan, media.LevelNone), timed(mp4, mp4Plan, media.LevelStructure)
		}
		ratios = append(ratios, float64(u)/float64(v))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "verified/unverified")
}

// BenchmarkRestoreCheck is restore --check over an asset of 10,000 files
// of 16 KiB: one head read and check per file, so the cost is per file,
// not per byte. It reports files/s.
func BenchmarkRestoreCheck(b *testing.B) {
	const files = 10000
	dir := benchDir(b)
	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "enc")
	if err := os.MkdirAll(src, 0o700); err != nil {
		b.Fatal(err)
	}
	iv := newIV(b)
	// One IV per track: the fragblob layout of a live archive, so that one
	// document names all 10,000 files.
	docs := []keyexport.Document{{Name: "manifest", Data: fmt.Appendf(nil,
		`{"amscryptManifest":1,"key":%q,"keyId":%q,"files":[{"name":"video","iv":"%d"}]}`,
		b64(key), id.String(), iv)}}
	if err := os.MkdirAll(filepath.Join(src, "video"), 0o700); err != nil {
		b.Fatal(err)
	}
	// A whole fragment: a moof holding an mfhd, then an mdat to the end
	// (the head check decodes the moof's children).
	frag := make([]byte, 16<<10)
	copy(frag, "\x00\x00\x00\x18moof\x00\x00\x00\x10mfhd\x00\x00\x00\x00\x00\x00\x00\x01")
	binary.BigEndian.PutUint32(frag[24:], uint32(len(frag)-24))
	copy(frag[28:], "mdat")
	for i := range files {
		enc := make([]byte, len(frag))
		c, err := blobcrypt.NewCipher(key, iv)
		if err != nil {
			b.Fatal(err)
		}
		c.XORKeyStreamAt(enc, frag, 0)
		if err := os.WriteFile(filepath.Join(src, "video", fmt.Sprint(i*20000000)), enc, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	plan, err := keyexport.NewPlan(docs, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := restore.Run(context.Background(), nil, restore.Dir{Root: src}, plan, &restore.RunOptions{Check: true})
		if err != nil || r.Summary[restore.StatusChecked] != files {
			b.Fatalf("%v %v", err, r.Summary)
		}
	}
	b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

func b64(k contentkey.Key) string {
	raw := k.Bytes()
	defer clear(raw)
	return base64.StdEncoding.EncodeToString(raw)
}
