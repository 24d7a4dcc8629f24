package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// serveSize is the file BenchmarkServe reads whole as one range.
const serveSize = 128 * mib

// BenchmarkServe reads one serveSize file as one range (Range: bytes=0-)
// from three servers on loopback, side by side: serve.Server decrypting
// the ciphertext; http.FileServer over the plaintext, copying through a
// 256 KiB user-space buffer (what any server that must change the bytes
// does at least); and http.FileServer as it is, with sendfile(2). Each
// iteration is one round, one read from each server in an order that
// rotates every round; the metrics are the medians over the rounds of each
// server's MB/s and of serve's speed over the others' in the same round. The client, in this process too, reads
// through a 256 KiB buffer. On tmpfs when /dev/shm exists.
//
//	go test -run '^$' -bench Serve -benchtime 15x ./bench/
func BenchmarkServe(b *testing.B) {
	dir := benchDir(b)
	plainDir, encDir := filepath.Join(dir, "plain"), filepath.Join(dir, "enc")
	for _, d := range []string{plainDir, encDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	writePseudoRandom(b, filepath.Join(plainDir, "big.bin"), serveSize)
	want := sha256File(b, filepath.Join(plainDir, "big.bin"))
	key := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	af := encryptAssetFile(b, filepath.Join(encDir, "big.bin"), filepath.Join(plainDir, "big.bin"), key, id)
	kf := filepath.Join(dir, "key.json")
	if err := keyfile.Write(kf, key, id); err != nil {
		b.Fatal(err)
	}
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: kf, Data: mustRead(b, kf)}, af}, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan, nil)
	if err != nil {
		b.Fatal(err)
	}
	fs := http.FileServer(http.Dir(plainDir))
	servers := []struct {
		name string
		url  string
	}{
		{"serve", listen(b, s.Serve)},
		{"copy", listen(b, httpServe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fs.ServeHTTP(bufferedCopy{w}, r)
		})))},
		{"sendfile", listen(b, httpServe(fs))},
	}
	buf := make([]byte, 256<<10)
	var lastCPU time.Duration
	get := func(url string, check bool) time.Duration {
		req, err := http.NewRequest("GET", url+"big.bin", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Range", "bytes=0-")
		cpu0 := processCPU()
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		h := sha256.New()
		var w io.Writer = io.Discard
		if check {
			w = h
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{w}, resp.Body, buf)
		d := time.Since(start)
		lastCPU = processCPU() - cpu0
		if err != nil || n != serveSize || resp.StatusCode != http.StatusPartialContent {
			b.Fatalf("%s: %s, %d bytes, %v", url, resp.Status, n, err)
		}
		if check && hex.EncodeToString(h.Sum(nil)) != want {
			b.Fatalf("%s: not the plaintext", url)
		}
		return d
	}
	for _, sv := range servers { // warm up, and check the bytes
		get(sv.url, true)
	}
	times := make([][]time.Duration, len(servers))
	cpus := make([][]float64, len(servers))
	round := 0
	for b.Loop() {
		for i := range servers {
			k := (i + round) % len(servers)
			times[k] = append(times[k], get(servers[k].url, false))
			cpus[k] = append(cpus[k], lastCPU.Seconds())
		}
		round++
	}
	// Each round's ratios pair reads made within a second of each other,
	// which a shared machine's load moves together.
	var toCopy, toSendfile []float64
	for r := range round {
		toCopy = append(toCopy, times[1][r].Seconds()/times[0][r].Seconds())
		toSendfile = append(toSendfile, times[2][r].Seconds()/times[0][r].Seconds())
	}
	b.ReportMetric(median(toCopy), "serve/copy")
	b.ReportMetric(median(toSendfile), "serve/sendfile")
	for i, sv := range servers {
		var mbs []float64
		for _, t := range times[i] {
			mbs = append(mbs, serveSize/t.Seconds()/1e6)
		}
		b.ReportMetric(median(mbs), sv.name+"-MB/s")
		b.ReportMetric(median(cpus[i])/serveSize*1e9, sv.name+"-cpu-ns/B")
		b.Logf("%s MB/s: %.0f", sv.name, mbs)
	}
	b.Logf("serve/copy by round: %.2f", toCopy)
}

// bufferedCopy hides http.ResponseWriter's io.ReaderFrom (which would use
// sendfile) behind one that copies through a 256 KiB buffer, as
// bench/staticserve -no-sendfile does.
type bufferedCopy struct{ http.ResponseWriter }

func (o bufferedCopy) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{o.ResponseWriter}, r, make([]byte, 256<<10))
}

// httpServe is Serve of an http.Server with h, which stops when ctx ends.
func httpServe(h http.Handler) func(context.Context, net.Listener) error {
	return func(ctx context.Context, ln net.Listener) error {
		hs := &http.Server{Handler: h}
		go func() { <-ctx.Done(); hs.Close() }()
		return hs.Serve(ln)
	}
}

// listen runs serve on a loopback listener until the benchmark ends and
// returns its base URL.
func listen(b *testing.B, serve func(context.Context, net.Listener) error) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return fmt.Sprintf("http://%s/", ln.Addr())
}

// processCPU is the CPU time this process (servers and client) has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
