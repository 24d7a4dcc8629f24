package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/keyfile"
)

// rcloneVersion is the rclone BenchmarkRestoreBatch builds (go install
// into a temporary directory; it is never a dependency of the module).
const rcloneVersion = "v1.76.0"

// BenchmarkRestoreBatch restores a batch of many small assets (300 of six
// blobs of 1.4 MiB, as in the issue that made batch.Run run assets at once)
// container to container with the amscrypt CLI, `restore --batch`, beside
// rclone copying the same ciphertext containers with no cryptography, in
// one process too: a combine remote joins the 300 source containers into
// one tree and another the 300 destination containers, so that
// `rclone copy SRC: DST:` moves them all with its default 4 transfers and 8
// checkers. Server-side copy is disabled (--disable Copy): every byte goes
// through the client, as a restore's must. Each iteration is one round
// running both, the order alternating, into 300 fresh destination
// containers deleted afterwards; every restored file's SHA-256 (from the
// report) and rclone's object count and bytes are checked. It reports the
// median seconds of each and amscrypt's speed as a ratio of rclone's.
// Set BATCH_ASSETS for a smaller batch, AMSCRYPT_WORKERS for --workers and
// AMSCRYPT_BIN for another build of the CLI.
//
//	bash scripts/test-azurite --bench -v -bench RestoreBatch -benchtime 5x -timeout 60m
func BenchmarkRestoreBatch(b *testing.B) {
	const (
		files    = 6
		fileSize = 1468006 // 1.4 MiB
	)
	assets := 300
	if v := os.Getenv("BATCH_ASSETS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("BATCH_ASSETS=%q is not a count", v)
		}
		assets = n
	}
	ep := azuritetest.Endpoint(b)
	dir := benchDir(b)
	tools := b.TempDir()
	amscrypt := os.Getenv("AMSCRYPT_BIN") // another build, to compare
	if amscrypt == "" {
		amscrypt = filepath.Join(tools, "amscrypt")
		if out, err := exec.Command("go", "build", "-o", amscrypt, "../cmd/amscrypt").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	install := exec.Command("go", "install", "github.com/rclone/rclone@"+rcloneVersion)
	install.Env = append(os.Environ(), "GOBIN="+tools, "GOFLAGS=-mod=mod")
	install.Dir = tools // outside the module: rclone never enters go.mod
	if out, err := install.CombinedOutput(); err != nil {
		b.Fatalf("go install rclone: %v\n%s", err, out)
	}
	rclone := filepath.Join(tools, "rclone")

	// One asset's six files, encrypted here; every source container holds
	// them, and one decryption manifest names them for every batch line.
	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	kf := filepath.Join(dir, "key.json")
	if err := keyfile.Write(kf, key, id); err != nil {
		b.Fatal(err)
	}
	enc := filepath.Join(dir, "enc")
	if err := os.Mkdir(enc, 0o700); err != nil {
		b.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	writePseudoRandom(b, plain, fileSize)
	wantSum := sha256File(b, plain)
	docs := []keyexport.Document{{Name: kf, Data: mustRead(b, kf)}}
	for i := range files {
		name := fmt.Sprintf("video_%d.bin", i)
		docs = append(docs, encryptAssetFile(b, filepath.Join(enc, name), plain, key, id))
	}
	plan, err := keyexport.NewPlan(docs, nil)
	if err != nil {
		b.Fatal(err)
	}
	manifest, err := plan.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "asset.manifest.json"), manifest, 0o600); err != nil {
		b.Fatal(err)
	}
	srcs := make([]*azuritetest.Container, assets)
	var srcUpstreams []string
	for i := range srcs {
		srcs[i] = azuritetest.NewContainer(b)
		azuritetest.PutFiles(b, srcs[i].SAS(b, azuritetest.ReadWrite, time.Now().Add(24*time.Hour)), enc)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%d.url", i)), []byte(srcs[i].SAS(b, azuritetest.ReadOnly, time.Now().Add(24*time.Hour))), 0o600); err != nil {
			b.Fatal(err)
		}
		srcUpstreams = append(srcUpstreams, fmt.Sprintf("a%03d=AZ:%s", i, srcs[i].Name))
	}
	const total = float64(files * fileSize)
	azurite := os.Getenv("AZURITE_PID")

	// run times one command, returning its wall time and the CPU time it
	// and Azurite spent.
	run := func(cmd *exec.Cmd) (wall, cpu, srv time.Duration, out []byte) {
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		srv0, _ := cpuTime(azurite)
		start := time.Now()
		err := cmd.Run()
		wall = time.Since(start)
		srv1, _ := cpuTime(azurite)
		if err != nil {
			b.Fatalf("%s: %v\n%s", filepath.Base(cmd.Path), err, stderr.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return wall, cpu, srv1 - srv0, []byte(stdout.String())
	}
	copies := []struct {
		name string
		run  func(dsts []*azuritetest.Container) (wall, cpu, srv time.Duration)
	}{
		{"amscrypt", func(dsts []*azuritetest.Container) (wall, cpu, srv time.Duration) {
			var lines []string
			for i, d := range dsts {
				out := filepath.Join(dir, fmt.Sprintf("out-%d.url", i))
				if err := os.WriteFile(out, []byte(d.SAS(b, azuritetest.ReadWrite, time.Now().Add(time.Hour))), 0o600); err != nil {
					b.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf(`{"in":"@in-%d.url","out":"@out-%d.url","keys":["asset.manifest.json"]}`, i, i))
			}
			batch := filepath.Join(dir, "batch.jsonl")
			if err := os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			args := []string{"restore", "--batch", batch, "--quiet"}
			if w := os.Getenv("AMSCRYPT_WORKERS"); w != "" {
				args = append(args, "--workers", w)
			}
			wall, cpu, srv, out := run(exec.Command(amscrypt, args...))
			reports := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(reports) != assets {
				b.Fatalf("%d report lines for %d assets", len(reports), assets)
			}
			for _, l := range reports {
				var r struct {
					Files []struct{ Status, SHA256 string }
				}
				if err := json.Unmarshal([]byte(l), &r); err != nil || len(r.Files) != files {
					b.Fatalf("report %s: %v", l, err)
				}
				for _, f := range r.Files {
					if f.Status != "restored" || f.SHA256 != wantSum {
						b.Fatalf("report %s: not restored, or not the plaintext", l)
					}
				}
			}
			return wall, cpu, srv
		}},
		{"rclone", func(dsts []*azuritetest.Container) (wall, cpu, srv time.Duration) {
			var up []string
			for i, d := range dsts {
				up = append(up, fmt.Sprintf("a%03d=AZ:%s", i, d.Name))
			}
			env := append(os.Environ(),
				"RCLONE_CONFIG=/nonexistent", // only the remotes below
				"RCLONE_CONFIG_AZ_TYPE=azureblob", "RCLONE_CONFIG_AZ_USE_EMULATOR=true", "RCLONE_CONFIG_AZ_ENDPOINT="+ep,
				"RCLONE_CONFIG_SRC_TYPE=combine", "RCLONE_CONFIG_SRC_UPSTREAMS="+strings.Join(srcUpstreams, " "),
				"RCLONE_CONFIG_DST_TYPE=combine", "RCLONE_CONFIG_DST_UPSTREAMS="+strings.Join(up, " "))
			cmd := exec.Command(rclone, "copy", "SRC:", "DST:", "--disable", "Copy", "-q")
			cmd.Env = env
			wall, cpu, srv, _ = run(cmd)
			size := exec.Command(rclone, "size", "DST:", "--json")
			size.Env = env
			out, err := size.Output()
			var got struct{ Count, Bytes int64 }
			if err != nil || json.Unmarshal(out, &got) != nil || got.Count != int64(assets*files) || got.Bytes != int64(assets)*files*fileSize {
				b.Fatalf("rclone size: %v: %s", err, out)
			}
			return wall, cpu, srv
		}},
	}
	secs := make([][]float64, len(copies))
	round := 0
	for b.Loop() {
		for k := range copies {
			i := (k + round) % len(copies)
			dsts := make([]*azuritetest.Container, assets)
			for j := range dsts {
				dsts[j] = azuritetest.NewContainer(b)
			}
			wall, cpu, srv := copies[i].run(dsts)
			for _, d := range dsts {
				d.Delete(b)
			}
			secs[i] = append(secs[i], wall.Seconds())
			b.Logf("round %d  %-8s  %6.2f s  %6.1f MB/s  CPU s: client %5.2f, azurite %5.2f", round+1, copies[i].name,
				wall.Seconds(), float64(assets)*total/wall.Seconds()/1e6, cpu.Seconds(), srv.Seconds())
		}
		round++
	}
	b.ReportMetric(0, "ns/op")
	for i, c := range copies {
		b.ReportMetric(median(secs[i]), c.name+"-s")
	}
	b.ReportMetric(median(secs[1])/median(secs[0]), "x-rclone")
}
