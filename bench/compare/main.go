// Command compare times the amscrypt CLI against openssl enc on the same
// file, in one run, and checks that both produce the same ciphertext.
//
//	go run ./bench/compare -size 1GiB -dir /dev/shm
//
// It builds cmd/amscrypt, writes a key file and a pseudo-random input of the
// given size in -dir, then for -rounds rounds (alternating which tool goes
// first) runs
//
//	amscrypt encrypt --key-file K --in F --out A --iv IV --quiet --force
//	openssl enc -aes-256-ctr -K <key hex> -iv <BE64(IV) || 0^8 hex> -in F -out B
//
// measuring each child's wall time and peak RSS, and verifies A == B: the
// storage encryption counter block at offset 0 is exactly openssl's -iv.
// -dir /dev/shm measures the CPU work; a disk directory adds the disk (and
// amscrypt's fsync, which openssl does not do).
package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amscrypt/amscrypt/bench/internal/child"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/keyfile"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("compare: ")
	sizeFlag := flag.String("size", "1GiB", "input size, e.g. 512MiB, 1GiB, 1000000")
	dirFlag := flag.String("dir", defaultDir(), "directory for the input and outputs (tmpfs or disk)")
	rounds := flag.Int("rounds", 3, "timed rounds; the order of the two tools alternates")
	warmup := flag.Int("warmup", 1, "untimed rounds first (the first reads of a new file cost the kernel extra)")
	bin := flag.String("amscrypt", "", "a prebuilt amscrypt binary (default: go build ./cmd/amscrypt)")
	openssl := flag.String("openssl", "openssl", "the openssl binary")
	flag.Parse()

	size, err := parseSize(*sizeFlag)
	if err != nil {
		log.Fatal(err)
	}
	if *rounds < 1 {
		log.Fatal("-rounds must be at least 1")
	}
	if err := run(size, *dirFlag, *warmup, *rounds, *bin, *openssl); err != nil {
		log.Fatal(err)
	}
}

func defaultDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// parseSize reads a byte count with an optional KiB/MiB/GiB/KB/MB/GB suffix.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return n * mult, nil
}

type sample struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssKiB int64
}

type tool struct {
	name    string
	args    func(in, out string) []string
	out     string
	samples []sample
}

func run(size int64, dir string, warmup, rounds int, bin, openssl string) error {
	if _, err := exec.LookPath(openssl); err != nil {
		return fmt.Errorf("openssl not found: %w", err)
	}
	binDir, err := os.MkdirTemp("", "amscrypt-compare-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)
	if bin == "" {
		bin = filepath.Join(binDir, "amscrypt")
		if err := build(bin); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp(dir, "amscrypt-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	key, err := contentkey.New(contentkey.StorageEncryption)
	if err != nil {
		return err
	}
	id, err := contentkey.NewID()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(binDir, "key.json")
	if err := keyfile.Write(keyFile, key, id); err != nil {
		return err
	}
	iv, err := contentkey.NewIV()
	if err != nil {
		return err
	}
	ivBytes := iv.Bytes()
	opensslIV := hex.EncodeToString(ivBytes[:]) + strings.Repeat("0", 16)
	keyHex := hex.EncodeToString(key.Bytes())

	in := filepath.Join(work, "plain")
	if err := writeInput(in, size); err != nil {
		return err
	}
	tools := []*tool{
		{name: "amscrypt encrypt", out: filepath.Join(work, "out.amscrypt"), args: func(in, out string) []string {
			return []string{bin, "encrypt", "--key-file", keyFile, "--in", in, "--out", out, "--iv", iv.String(), "--quiet", "--force"}
		}},
		{name: "openssl enc -aes-256-ctr", out: filepath.Join(work, "out.openssl"), args: func(in, out string) []string {
			return []string{openssl, "enc", "-aes-256-ctr", "-K", keyHex, "-iv", opensslIV, "-in", in, "-out", out}
		}},
	}

	fmt.Printf("input: %s (%d bytes) in %s, %d warm-up + %d timed rounds, %d CPUs, %s\n", formatSize(size), size, dir, warmup, rounds, runtime.NumCPU(), opensslVersion(openssl))
	// A file's pages are cheaper to read the second time (the kernel moves
	// them to its active list on first access), so without a warm-up
	// whichever tool runs first pays for that.
	for range warmup {
		for _, t := range tools {
			os.Remove(t.out)
			if _, err := timeChild(t.args(in, t.out)); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		if err := sameFile(tools[0].out, tools[1].out); err != nil {
			return err
		}
	}
	for r := range rounds {
		order := []*tool{tools[0], tools[1]}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, t := range order {
			// Each run starts with no output file, so neither pays for
			// freeing the previous run's pages.
			os.Remove(t.out)
			s, err := timeChild(t.args(in, t.out))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.samples = append(t.samples, s)
			fmt.Printf("round %d  %-26s %8.3fs  %8.1f MB/s  cpu %6.3fs  peak RSS %6.1f MiB\n", r+1, t.name, s.wall.Seconds(), mbps(size, s.wall), s.cpu.Seconds(), float64(s.rssKiB)/1024)
		}
		if err := sameFile(tools[0].out, tools[1].out); err != nil {
			return err
		}
	}
	fmt.Println("outputs identical in every round: yes")
	fmt.Println()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tmedian s\tbest s\tmedian MB/s\tbest MB/s\tmedian cpu s\tmax peak RSS MiB\t")
	for _, t := range tools {
		st := summarize(t.samples)
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.1f\t%.1f\t%.3f\t%.1f\t\n", t.name, st.wall.Seconds(), st.best.Seconds(), mbps(size, st.wall), mbps(size, st.best), st.cpu.Seconds(), float64(st.rssKiB)/1024)
	}
	tw.Flush()
	ams, ossl := summarize(tools[0].samples), summarize(tools[1].samples)
	fmt.Printf("\nratio amscrypt/openssl speed: %.2fx (median wall), %.2fx (best wall); openssl needs %.2fx the CPU time\n",
		ossl.wall.Seconds()/ams.wall.Seconds(), ossl.best.Seconds()/ams.best.Seconds(), ossl.cpu.Seconds()/ams.cpu.Seconds())
	return nil
}

func build(out string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "build", "-o", out, "./cmd/amscrypt")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building amscrypt in %s: %w", root, err)
	}
	return nil
}

// writeInput writes size bytes of ChaCha8 output: incompressible and cheap.
func writeInput(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'c', 'o', 'm', 'p', 'a', 'r', 'e'})
	buf := make([]byte, 64<<10)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// timeChild runs argv and returns what it cost.
func timeChild(argv []string) (sample, error) {
	c, err := child.Run(argv...)
	return sample{wall: c.Wall, cpu: c.CPU, rssKiB: c.RSSKiB}, err
}

func sameFile(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); ; {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("outputs differ in the 64 KiB at offset %d: amscrypt and openssl disagree", off)
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			if eb != ea {
				return errors.New("outputs differ in length")
			}
			return nil
		}
		if ea != nil {
			return ea
		}
		if eb != nil {
			return eb
		}
		off += int64(na)
	}
}

type stats struct {
	wall, best, cpu time.Duration // median wall, best wall, median CPU
	rssKiB          int64         // the largest peak RSS
}

func summarize(s []sample) stats {
	var walls, cpus []time.Duration
	var st stats
	for _, x := range s {
		walls, cpus = append(walls, x.wall), append(cpus, x.cpu)
		st.rssKiB = max(st.rssKiB, x.rssKiB)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	st.wall, st.best, st.cpu = walls[len(walls)/2], walls[0], cpus[len(cpus)/2]
	return st
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

func formatSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func opensslVersion(openssl string) string {
	out, err := exec.Command(openssl, "version").Output()
	if err != nil {
		return "openssl version unknown"
	}
	return strings.TrimSpace(string(out))
}
