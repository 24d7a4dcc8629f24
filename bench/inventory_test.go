package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/faultproxy"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
)

// BenchmarkInventoryAccount surveys an Azurite account of 2,000 containers
// (INVENTORY_CONTAINERS overrides the number) with `amscrypt inventory`, run
// as a child process, beside two baselines in the same round: the Azure SDK
// listing the account and every container's blobs with the same 16 in
// flight and nothing else (sdk-list: no reads, no decryption, no report),
// the least any survey costs, and the same plus one ranged GET of
// media.HeadSize bytes per container (sdk-list+head): the requests the
// inventory makes, without its work. Both go through a forwarding proxy that counts
// requests. The account holds 70% copies of one asset told apart by their
// manifests' asset ids, 20% assets with the same file names and their own
// keys (paired by trial: each is tried with every such export), and 10%
// clear ones; every container is named asset-<guid>, with a prefix of its
// own. It reports the medians of the inventory's wall time, its ratio to the
// baseline, requests per container and the child's peak RSS:
//
//	bash scripts/test-azurite --bench -v -bench InventoryAccount -benchtime 3x -timeout 30m
func BenchmarkInventoryAccount(b *testing.B) {
	ep := azuritetest.Endpoint(b)
	n := 2000
	if s := os.Getenv("INVENTORY_CONTAINERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			b.Fatalf("INVENTORY_CONTAINERS=%q is not a number from 10", s)
		}
		n = v
	}
	dir := benchDir(b)
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "amscrypt")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/amscrypt").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}

	var rb [4]byte
	rand.Read(rb[:])
	prefix := "asset-" + hex.EncodeToString(rb[:])
	start := time.Now()
	paired, err := fillAccount(b, ep, prefix, n, keys)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d containers (%d to pair) in %v", n, paired, time.Since(start).Round(time.Second))

	proxy := azuritetest.NewFaultProxy(b, faultproxy.Config{})
	sasURL := proxy.Rewrite(azuritetest.AccountSAS(b, azuritetest.AccountReadOnly, time.Now().Add(24*time.Hour)))
	inFile := filepath.Join(dir, "in.url")
	if err := os.WriteFile(inFile, []byte(sasURL+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var invS, baseS, headS, reqs, rss []float64
	// serverCPU is the CPU time Azurite spent since it was last called.
	azurite := os.Getenv("AZURITE_PID")
	last, _ := cpuTime(azurite)
	serverCPU := func() string {
		now, ok := cpuTime(azurite)
		if !ok {
			return ""
		}
		d := now - last
		last = now
		return fmt.Sprintf(", azurite %.2f", d.Seconds())
	}
	b.ResetTimer()
	for i := range b.N {
		runs := []func(){
			func() {
				r0 := proxy.Stats().Requests
				t0 := time.Now()
				cmd := exec.Command(bin, "inventory", "--in", "@"+inFile, "--keys", keys, "--out", filepath.Join(dir, "out"),
					"--prefix", prefix, "--force", "--quiet")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("inventory: %v: %s", err, stderr.String())
				}
				el := time.Since(t0).Seconds()
				var res struct {
					Containers, Batch int
				}
				if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Containers != n || res.Batch != paired {
					b.Fatalf("inventory found %d containers and %d to restore, want %d and %d: %s", res.Containers, res.Batch, n, paired, stdout.String())
				}
				peak := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
				rq := float64(proxy.Stats().Requests-r0) / float64(n)
				invS, reqs, rss = append(invS, el), append(reqs, rq), append(rss, peak)
				cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
				b.Logf("round %d inventory   %6.2f s  %.2f requests/container  peak RSS %.1f MiB  CPU s: inventory %.2f%s",
					i+1, el, rq, peak, cpu, serverCPU())
			},
			func() {
				t0 := time.Now()
				if err := sdkListAll(sasURL, prefix, n, false); err != nil {
					b.Fatal(err)
				}
				el := time.Since(t0).Seconds()
				baseS = append(baseS, el)
				b.Logf("round %d sdk-list    %6.2f s%s", i+1, el, serverCPU())
			},
			func() {
				t0 := time.Now()
				if err := sdkListAll(sasURL, prefix, n, true); err != nil {
					b.Fatal(err)
				}
				el := time.Since(t0).Seconds()
				headS = append(headS, el)
				b.Logf("round %d sdk-list+head %4.2f s%s", i+1, el, serverCPU())
			},
		}
		// The order rotates, so that no one always runs on a server warmed
		// (or burdened) by the one before.
		for j := range runs {
			runs[(i+j)%len(runs)]()
		}
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(invS), "s/inventory")
	b.ReportMetric(median(baseS), "s/sdk-list")
	b.ReportMetric(median(invS)/median(baseS), "x-sdk-list")
	b.ReportMetric(median(headS), "s/sdk-list+head")
	b.ReportMetric(median(invS)/median(headS), "x-sdk-list+head")
	b.ReportMetric(median(reqs), "requests/container")
	b.ReportMetric(median(rss), "MiB-peak-RSS")
	b.ReportMetric(float64(n)/median(invS), "containers/s")
}

// sdkListAll lists the account's containers under prefix and every one's
// blobs, 16 at a time: the baseline; with head, it also reads the first
// media.HeadSize bytes of one blob of each, as the inventory does.
func sdkListAll(sasURL, prefix string, want int, head bool) error {
	ctx := context.Background()
	svc, err := service.NewClientWithNoCredential(sasURL, nil)
	if err != nil {
		return err
	}
	var names []string
	pager := svc.NewListContainersPager(&service.ListContainersOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, c := range page.ContainerItems {
			names = append(names, *c.Name)
		}
	}
	if len(names) != want {
		return fmt.Errorf("listed %d containers, want %d", len(names), want)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, name := range names {
		g.Go(func() error {
			cc := svc.NewContainerClient(name)
			p := cc.NewListBlobsFlatPager(nil)
			first := ""
			for p.More() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				if len(page.Segment.BlobItems) > 0 && first == "" {
					first = *page.Segment.BlobItems[0].Name
				}
			}
			if !head || first == "" {
				return nil
			}
			resp, err := cc.NewBlobClient(first).DownloadStream(ctx, &blob.DownloadStreamOptions{
				Range: blob.HTTPRange{Offset: 0, Count: media.HeadSize}})
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		})
	}
	return g.Wait()
}

// fillAccount creates n containers under prefix and writes their exports to
// keys; it returns how many the inventory should pair.
func fillAccount(b *testing.B, ep, prefix string, n int, keys string) (int, error) {
	vod := filepath.Join(testvectors.Dir, "restore", "vod")
	idFiles := []string{"video.ism", "subs.vtt", "movie_audio.m4a", "thumb.jpg"}
	trialFiles := []string{"video.ism", "subs.vtt", "movie_audio.m4a"}
	read := func(p string) []byte { return mustRead(b, p) }
	enc, plain := map[string][]byte{}, map[string][]byte{}
	for _, f := range idFiles {
		enc[f], plain[f] = read(filepath.Join(vod, "enc", f)), read(filepath.Join(vod, "plain", f))
	}
	v3 := read(filepath.Join(vod, "keys", "v3.json"))
	base, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: v3}}, nil)
	if err != nil {
		return 0, err
	}
	var idEntries []keyexport.Entry
	for _, e := range base.Entries {
		for _, f := range idFiles {
			if e.Name == f {
				idEntries = append(idEntries, e)
			}
		}
	}
	cred, err := container.NewSharedKeyCredential(azuritetest.AccountName, azuritetest.AccountKey)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var made []string
	b.Cleanup(func() {
		g := new(errgroup.Group)
		g.SetLimit(16)
		for _, name := range made {
			g.Go(func() error {
				c, err := container.NewClientWithSharedKeyCredential(ep+"/"+name, cred, nil)
				if err == nil {
					_, err = c.Delete(context.Background(), nil)
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Logf("deleting the benchmark's containers: %v", err)
		}
	})
	idN, trialN := n*7/10, n*2/10
	g := new(errgroup.Group)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			name := fmt.Sprintf("%s%s", prefix, uuid.NewString()[8:])
			files := map[string][]byte{}
			var export []byte
			switch {
			case i < idN:
				for _, f := range idFiles {
					files[f] = enc[f]
				}
				p := *base
				p.Entries, p.AssetID = idEntries, "nb:cid:UUID:"+strings.TrimPrefix(name, "asset-")
				var err error
				if export, err = p.Manifest(); err != nil {
					return err
				}
			case i < idN+trialN:
				key, err := contentkey.New(contentkey.StorageEncryption)
				if err != nil {
					return err
				}
				var meta []map[string]string
				for _, f := range trialFiles {
					iv, err := contentkey.NewIV()
					if err != nil {
						return err
					}
					c, err := blobcrypt.NewCipher(key, iv)
					if err != nil {
						return err
					}
					ct := make([]byte, len(plain[f]))
					c.XORKeyStreamAt(ct, plain[f], 0)
					files[f] = ct
					meta = append(meta, map[string]string{"initializationVector": iv.String(), "assetFileName": f})
				}
				export, err = json.Marshal(map[string]any{"key": base64.StdEncoding.EncodeToString(key.Bytes()), "assetFileEncryptionMetadata": meta})
				if err != nil {
					return err
				}
			default:
				for _, f := range idFiles {
					files[f] = plain[f]
				}
			}
			c, err := container.NewClientWithSharedKeyCredential(ep+"/"+name, cred, nil)
			if err != nil {
				return err
			}
			ctx := context.Background()
			if _, err := c.Create(ctx, nil); err != nil {
				return err
			}
			mu.Lock()
			made = append(made, name)
			mu.Unlock()
			for f, data := range files {
				if _, err := c.NewBlockBlobClient(f).UploadBuffer(ctx, data, nil); err != nil {
					return err
				}
			}
			if export != nil {
				return os.WriteFile(filepath.Join(keys, fmt.Sprintf("export-%05d.json", i)), export, 0o600)
			}
			return nil
		})
	}
	return idN + trialN, g.Wait()
}
