package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/restore"
)

// containerCopyTimeout bounds one copy of the asset, which takes 4-15 s on
// Azurite on a 2-CPU machine.
const containerCopyTimeout = 5 * time.Minute

// BenchmarkRestoreContainer restores a 1 GiB storage-encrypted asset (four
// blobs of 256 MiB) container to container through azblobcrypt.Container at
// concurrency 1, 4 and 16, beside two baselines that copy the same
// ciphertext down and up with the Azure SDK and no cryptography, with the
// same block size and concurrency and as many files in flight as the
// restore (GOMAXPROCS, its default for a container):
//
//   - sdk-stream: blob DownloadStream (one GET per blob, streamed) into
//     blockblob UploadStream (Concurrency blocks staged at a time);
//   - sdk-ranged: Concurrency ranged GETs of one block each in flight, and
//     Concurrency StageBlock calls, then CommitBlockList: the restore's
//     pipeline without the cipher, SHA-256 and in-order delivery.
//
// Every iteration of a sub-benchmark is one round that runs each of the
// three once, in an order that rotates from round to round, each into a
// fresh destination container deleted afterwards (Azurite keeps blobs in
// memory). It reports the median MB/s of each and the restore's ratio to
// each baseline; ns/op is suppressed, since an iteration is three copies.
// Each copy's log line also gives the CPU time this process and Azurite
// spent on it, since on one machine they compete for the same cores.
// It needs Azurite (scripts/test-azurite --bench); run it with a round
// count, a long timeout, and -v, without which the log is cut at 10 lines:
//
//	bash scripts/test-azurite --bench -v -bench RestoreContainer -benchtime 5x -timeout 60m
func BenchmarkRestoreContainer(b *testing.B) {
	const (
		files    = 4
		fileSize = 256 * mib
	)
	azuritetest.Endpoint(b)
	dir := benchDir(b)
	src := azuritetest.NewContainer(b)
	srcSAS := src.SAS(b, azuritetest.ReadWrite, time.Now().Add(24*time.Hour))
	srcRead := src.SAS(b, azuritetest.ReadOnly, time.Now().Add(24*time.Hour))
	plain := filepath.Join(dir, "plain")
	writePseudoRandom(b, plain, fileSize)
	wantSum := sha256File(b, plain)

	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	kf := filepath.Join(dir, "key.json")
	if err := keyfile.Write(kf, key, id); err != nil {
		b.Fatal(err)
	}
	docs := []keyexport.Document{{Name: kf, Data: mustRead(b, kf)}}
	names := make([]string, files)
	for i := range names {
		names[i] = fmt.Sprintf("video_%d.bin", i)
		ctx, cancel := context.WithTimeout(b.Context(), containerCopyTimeout)
		res, err := azblobcrypt.UploadFile(ctx, srcSAS, names[i], plain, key, id, &azblobcrypt.UploadOptions{Workers: 4})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		af, err := envelope.NewAssetFile(names[i], res.Size, id, res.IV)
		if err != nil {
			b.Fatal(err)
		}
		body, err := af.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, keyexport.Document{Name: names[i] + ".json", Data: body})
	}
	os.Remove(plain)
	plan, err := keyexport.NewPlan(docs, nil)
	if err != nil {
		b.Fatal(err)
	}
	const total = files * fileSize
	inFlight := runtime.GOMAXPROCS(0)
	// Azurite shares the machine's cores; scripts/test-azurite names its
	// process so that the log can show where the CPU time went.
	azurite := os.Getenv("AZURITE_PID")

	copies := []struct {
		name string
		run  func(ctx context.Context, dstSAS string, conc int) error
	}{
		{"restore", func(ctx context.Context, dstSAS string, conc int) error {
			in, err := azblobcrypt.NewContainer(srcRead, &azblobcrypt.ContainerOptions{Workers: conc})
			if err != nil {
				return err
			}
			out, err := azblobcrypt.NewContainer(dstSAS, &azblobcrypt.ContainerOptions{Workers: conc})
			if err != nil {
				return err
			}
			r, err := restore.Run(ctx, out, in, plan, nil)
			if err != nil {
				return err
			}
			if r.Summary[restore.StatusRestored] != files {
				return fmt.Errorf("restored %v", r.Summary)
			}
			for _, f := range r.Files {
				if f.SHA256 != wantSum {
					return fmt.Errorf("%s: SHA-256 %s, want %s", f.Name, f.SHA256, wantSum)
				}
			}
			return nil
		}},
		{"sdk-stream", func(ctx context.Context, dstSAS string, conc int) error {
			return eachFile(names, inFlight, func(name string) error {
				return sdkStreamCopy(ctx, dstSAS, srcRead, name, conc)
			})
		}},
		{"sdk-ranged", func(ctx context.Context, dstSAS string, conc int) error {
			return eachFile(names, inFlight, func(name string) error {
				return sdkRangedCopy(ctx, dstSAS, srcRead, name, fileSize, conc)
			})
		}},
	}

	for _, conc := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			mbps := make([][]float64, len(copies))
			round := 0
			for b.Loop() {
				for k := range copies {
					i := (k + round) % len(copies)
					c := copies[i]
					dst := azuritetest.NewContainer(b)
					ctx, cancel := context.WithTimeout(b.Context(), containerCopyTimeout)
					cpu0, okSelf := cpuTime("self")
					srv0, okSrv := cpuTime(azurite)
					start := time.Now()
					err := c.run(ctx, dst.SAS(b, azuritetest.ReadWrite, time.Now().Add(time.Hour)), conc)
					d := time.Since(start)
					cpu1, _ := cpuTime("self")
					srv1, _ := cpuTime(azurite)
					cancel()
					dst.Delete(b)
					if err != nil {
						b.Fatalf("%s: %v", c.name, err)
					}
					mbps[i] = append(mbps[i], total/d.Seconds()/1e6)
					cpu := ""
					if okSelf && okSrv {
						cpu = fmt.Sprintf("  CPU s: client %5.2f, azurite %5.2f", (cpu1 - cpu0).Seconds(), (srv1 - srv0).Seconds())
					}
					b.Logf("round %d  %-10s  %6.2f s  %6.1f MB/s%s", round+1, c.name, d.Seconds(), total/d.Seconds()/1e6, cpu)
				}
				round++
			}
			b.ReportMetric(0, "ns/op")
			med := make([]float64, len(copies))
			for i, c := range copies {
				med[i] = median(mbps[i])
				b.ReportMetric(med[i], c.name+"-MB/s")
			}
			b.ReportMetric(med[0]/med[1], "x-sdk-stream")
			b.ReportMetric(med[0]/med[2], "x-sdk-ranged")
		})
	}
}

// eachFile runs fn for every name, inFlight at a time, and returns their
// errors joined.
func eachFile(names []string, inFlight int, fn func(string) error) error {
	sem := make(chan struct{}, inFlight)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(name)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// copyClients are the SDK's clients of blob name in the source and the
// destination container.
func copyClients(dstSAS, srcSAS, name string) (*blob.Client, *blockblob.Client, error) {
	in, err := blob.NewClientWithNoCredential(azuritetest.BlobURL(srcSAS, name), nil)
	if err != nil {
		return nil, nil, err
	}
	out, err := blockblob.NewClientWithNoCredential(azuritetest.BlobURL(dstSAS, name), nil)
	return in, out, err
}

// sdkStreamCopy copies one blob as the SDK's streaming calls do: one GET,
// its body fed to UploadStream.
func sdkStreamCopy(ctx context.Context, dstSAS, srcSAS, name string, conc int) error {
	in, out, err := copyClients(dstSAS, srcSAS, name)
	if err != nil {
		return err
	}
	resp, err := in.DownloadStream(ctx, nil)
	if err != nil {
		return err
	}
	body := resp.NewRetryReader(ctx, nil)
	defer body.Close()
	_, err = out.UploadStream(ctx, body, &blockblob.UploadStreamOptions{
		BlockSize: azblobcrypt.DefaultBlockSize, Concurrency: conc,
	})
	return err
}

// sdkRangedCopy copies one blob of size bytes with conc ranged GETs of one
// block each in flight, handing each block to conc stagers, then commits
// the block list.
func sdkRangedCopy(ctx context.Context, dstSAS, srcSAS, name string, size, conc int) error {
	in, out, err := copyClients(dstSAS, srcSAS, name)
	if err != nil {
		return err
	}
	const bs = azblobcrypt.DefaultBlockSize
	blocks := (size + bs - 1) / bs
	ids := make([]string, blocks)
	for i := range ids {
		var id [8]byte
		binary.BigEndian.PutUint64(id[:], uint64(i))
		ids[i] = base64.StdEncoding.EncodeToString(id[:])
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		errOnce  sync.Once
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	type block struct {
		i   int
		buf []byte
	}
	full := make(chan block, conc)
	var pool sync.Pool
	var next atomic.Int64
	var getters, stagers sync.WaitGroup
	for range conc {
		getters.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= blocks || ctx.Err() != nil {
					return
				}
				var buf []byte
				if p, ok := pool.Get().(*[]byte); ok {
					buf = *p
				} else {
					buf = make([]byte, bs)
				}
				off := i * bs
				buf = buf[:min(bs, size-off)]
				resp, err := in.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: int64(off), Count: int64(len(buf))}})
				if err == nil {
					_, err = io.ReadFull(resp.Body, buf)
					resp.Body.Close()
				}
				if err != nil {
					fail(err)
					return
				}
				full <- block{i, buf}
			}
		})
		stagers.Go(func() {
			for blk := range full {
				if ctx.Err() == nil {
					if _, err := out.StageBlock(ctx, ids[blk.i], streaming.NopCloser(bytes.NewReader(blk.buf)), nil); err != nil {
						fail(err)
					}
				}
				buf := blk.buf[:cap(blk.buf)]
				pool.Put(&buf)
			}
		})
	}
	getters.Wait()
	close(full)
	stagers.Wait()
	if firstErr != nil {
		return firstErr
	}
	_, err = out.CommitBlockList(ctx, ids, nil)
	return err
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func sha256File(b *testing.B, path string) string {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cpuTime returns the user and system CPU time process pid ("self" for this
// one) has used, from /proc; false where there is none.
func cpuTime(pid string) (time.Duration, bool) {
	if pid == "" {
		return 0, false
	}
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces; utime and
	// stime are the 12th and 13th fields after it, in USER_HZ (100) ticks.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / 100, true
}
