package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
)

// BenchmarkInventoryDirectory is BenchmarkInventoryAccount's account, of
// 10,000 containers (INVENTORY_CONTAINERS overrides it), copied to disk
// (tmpfs): what the inventory itself costs at that scale, storage aside.
// Identical blobs are hard links, so the account takes little room.
//
//	go test -run '^$' -bench InventoryDirectory -benchtime 3x ./bench/
func BenchmarkInventoryDirectory(b *testing.B) {
	n := 10000
	if s := os.Getenv("INVENTORY_CONTAINERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			b.Fatalf("INVENTORY_CONTAINERS=%q is not a number from 10", s)
		}
		n = v
	}
	dir := benchDir(b)
	acct, keys := filepath.Join(dir, "account"), filepath.Join(dir, "keys")
	bin := filepath.Join(dir, "amscrypt")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/amscrypt").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	start := time.Now()
	paired := fillDirAccount(b, acct, keys, n)
	b.Logf("made %d containers (%d to pair) in %v", n, paired, time.Since(start).Round(time.Second))
	var secs, rss, cpus []float64
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		cmd := exec.Command(bin, "inventory", "--in", acct, "--keys", keys, "--out", filepath.Join(dir, "out"), "--force", "--quiet")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("inventory: %v: %s", err, stderr.String())
		}
		el := time.Since(t0).Seconds()
		var res struct{ Containers, Batch int }
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Containers != n || res.Batch != paired {
			b.Fatalf("inventory found %d containers and %d to restore, want %d and %d", res.Containers, res.Batch, n, paired)
		}
		peak := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
		cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		secs, rss, cpus = append(secs, el), append(rss, peak), append(cpus, cpu)
		b.Logf("round %d  %6.2f s  CPU %.2f s  peak RSS %.1f MiB", i+1, el, cpu, peak)
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(secs), "s/inventory")
	b.ReportMetric(median(cpus), "CPU-s/inventory")
	b.ReportMetric(median(rss), "MiB-peak-RSS")
	b.ReportMetric(float64(n)/median(secs), "containers/s")
}

// fillDirAccount writes BenchmarkInventoryAccount's mix of containers as
// directories under acct and their exports under keys; it returns how many
// the inventory should pair.
func fillDirAccount(b *testing.B, acct, keys string, n int) int {
	vod := filepath.Join(testvectors.Dir, "restore", "vod")
	idFiles := []string{"video.ism", "subs.vtt", "movie_audio.m4a", "thumb.jpg"}
	trialFiles := []string{"video.ism", "subs.vtt", "movie_audio.m4a"}
	src := filepath.Join(filepath.Dir(acct), "src")
	for _, d := range []string{acct, keys, src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	plain := map[string][]byte{}
	for _, f := range idFiles {
		plain[f] = mustRead(b, filepath.Join(vod, "plain", f))
		for _, kind := range []string{"enc", "plain"} {
			if err := os.WriteFile(filepath.Join(src, kind+"-"+f), mustRead(b, filepath.Join(vod, kind, f)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	base, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: mustRead(b, filepath.Join(vod, "keys", "v3.json"))}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var idEntries []keyexport.Entry
	for _, e := range base.Entries {
		for _, f := range idFiles {
			if e.Name == f {
				idEntries = append(idEntries, e)
			}
		}
	}
	idN, trialN := n*7/10, n*2/10
	for i := range n {
		name := "asset-" + uuid.NewString()
		c := filepath.Join(acct, name)
		if err := os.Mkdir(c, 0o755); err != nil {
			b.Fatal(err)
		}
		var export []byte
		link := func(kind string, files []string) {
			for _, f := range files {
				if err := os.Link(filepath.Join(filepath.Dir(acct), "src", kind+"-"+f), filepath.Join(c, f)); err != nil {
					b.Fatal(err)
				}
			}
		}
		switch {
		case i < idN:
			link("enc", idFiles)
			p := *base
			p.Entries, p.AssetID = idEntries, "nb:cid:UUID:"+name[len("asset-"):]
			if export, err = p.Manifest(); err != nil {
				b.Fatal(err)
			}
		case i < idN+trialN:
			key := newKey(b)
			var meta []map[string]string
			for _, f := range trialFiles {
				iv := newIV(b)
				ci, err := blobcrypt.NewCipher(key, iv)
				if err != nil {
					b.Fatal(err)
				}
				ct := make([]byte, len(plain[f]))
				ci.XORKeyStreamAt(ct, plain[f], 0)
				if err := os.WriteFile(filepath.Join(c, f), ct, 0o644); err != nil {
					b.Fatal(err)
				}
				meta = append(meta, map[string]string{"initializationVector": iv.String(), "assetFileName": f})
			}
			if export, err = json.Marshal(map[string]any{"key": base64.StdEncoding.EncodeToString(key.Bytes()), "assetFileEncryptionMetadata": meta}); err != nil {
				b.Fatal(err)
			}
		default:
			link("plain", idFiles)
		}
		if export != nil {
			if err := os.WriteFile(filepath.Join(keys, fmt.Sprintf("export-%05d.json", i)), export, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	return idN + trialN
}
