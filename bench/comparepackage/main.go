// Command comparepackage measures `amscrypt package` and `amscrypt serve`'s
// on-the-fly CMAF against what a user would otherwise do, in one run, for
// bench/README.md ("Packaging to CMAF").
//
//	go run ./bench/comparepackage -shaka PACKAGER [-size 1GiB] [-serve-size 4GiB] [-rounds 5] [-workers 4] [-dir /tmp]
//
// Part 1, package beside restore: a storage-encrypted ladder of about -size
// (three H.264 renditions, 1080p/720p/360p at 6/3/1 Mbit/s, closed 2 s GOPs
// aligned across them, B-frames; two AAC tracks, eng and fra; an .ism in
// the shape Media Encoder Standard wrote), made with ffmpeg: 20 s are
// encoded once and looped with -stream_loop and -c copy (the audio is
// encoded at full length, since 20 s is not a whole number of AAC frames),
// then encrypted by testdata/serve/encrypt_asset.py. Then one untimed
// warm-up round and -rounds timed rounds, the order of the three rotating
// each round, each into a fresh directory under -dir:
//
//	restore:          amscrypt restore --keys K --in enc --out R --workers N
//	package:          amscrypt package --keys K --in enc --out P --workers N
//	restore+packager: the restore, then shaka-packager on the restored MP4s
//	                  into the same layout (init + $Number$ segments per
//	                  track, an HLS master and a static DASH MPD)
//
// Each child's wall time comes from the parent, CPU time and peak RSS from
// its rusage. amscrypt syncs every file it writes and shaka-packager does
// not, so after each run the tool calls sync(2) and reports how long that
// took (not counted in the run's time), so that no run pays for the
// previous one's writeback. The warm-up checks that the package and the
// packager's output each hold every video frame of the source (ffprobe
// -count_packets through the 1080p HLS playlist).
//
// Part 2, serve's time to first byte of one media segment: one asset of
// two 1080p MP4s, one of at least -serve-size (the same 20 s looped,
// +faststart, so its moov describes every sample) and the 20 s alone, each
// with its .ism (large.ism, small.ism), served by one `amscrypt serve`. The
// first request under each .ism (which reads the moov and cuts the
// presentation) is reported apart; then 21 rounds of
// GET /NAME.ism/video-1-NNNNN.m4s for the second and last-but-one segment
// of each and the middle one of the large, interleaved, with the time to
// the first response byte (net/http/httptrace) and to the last. Reported:
// medians and 90th percentiles, and the server's peak RSS and CPU.
//
// Everything is made in a temporary directory under -dir (local disk by
// default) and removed at the end; part 1 needs about 5 x -size of disk,
// part 2 about 2 x -serve-size. Needs ffmpeg (libx264), ffprobe, python3
// with cryptography, and shaka-packager's binary, e.g. from npm:
//
//	npm install --prefix ~/.cache/amscrypt-bench shaka-packager@3.4.2
//	go run ./bench/comparepackage -shaka ~/.cache/amscrypt-bench/node_modules/shaka-packager/bin/packager-linux-x64
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/amscrypt/amscrypt/bench/internal/child"
	"github.com/amscrypt/amscrypt/internal/cli"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("comparepackage: ")
	size := flag.String("size", "1GiB", "the ladder's size, about (KiB/MiB/GiB)")
	serveSize := flag.String("serve-size", "4GiB", "the large source of the time-to-first-byte part, at least")
	rounds := flag.Int("rounds", 5, "timed rounds of part 1; the order of the three rotates")
	workers := flag.Int("workers", 4, "--workers for both restore and package")
	dir := flag.String("dir", os.TempDir(), "where the temporary directory goes (local disk: the comparison is directory to directory)")
	shaka := flag.String("shaka", "", "shaka-packager's binary (default: packager on PATH)")
	bin := flag.String("amscrypt", "", "a prebuilt amscrypt binary (default: go build ./cmd/amscrypt)")
	parts := flag.String("parts", "package,serve", "which parts to run")
	flag.Parse()

	c := &compare{rounds: *rounds, workers: *workers, bin: *bin, shaka: *shaka}
	var err error
	if c.size, err = cli.ParseSize(*size); err != nil {
		log.Fatal(err)
	}
	if c.serveSize, err = cli.ParseSize(*serveSize); err != nil {
		log.Fatal(err)
	}
	if c.rounds < 1 {
		log.Fatal("-rounds must be at least 1")
	}
	if err := c.run(*dir, strings.Split(*parts, ",")); err != nil {
		log.Fatal(err)
	}
}

type compare struct {
	size, serveSize int64
	rounds, workers int
	bin, shaka, py  string
	root            string // the repository
	work            string
}

func (c *compare) run(dir string, parts []string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	c.root = filepath.Dir(strings.TrimSpace(string(gomod)))
	if c.work, err = os.MkdirTemp(dir, "amscrypt-comparepackage-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.work)
	// The fixtures are gigabytes: an interrupted run removes them too.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		os.RemoveAll(c.work)
		os.Exit(130)
	}()
	if c.bin == "" {
		c.bin = filepath.Join(c.work, "amscrypt")
		cmd := exec.Command("go", "build", "-o", c.bin, "./cmd/amscrypt")
		cmd.Dir, cmd.Stdout, cmd.Stderr = c.root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building amscrypt: %w", err)
		}
	}
	// A python3 with cryptography: the first on PATH, or Debian's.
	c.py = "python3"
	if exec.Command(c.py, "-c", "import cryptography").Run() != nil {
		c.py = "/usr/bin/python3"
	}
	c.header(dir)
	if err := c.encodeSource(); err != nil {
		return err
	}
	for _, p := range parts {
		switch p {
		case "package":
			if c.shaka == "" {
				if c.shaka, err = exec.LookPath("packager"); err != nil {
					return errors.New("no -shaka and no packager on PATH: npm install --prefix DIR shaka-packager@3.4.2, then -shaka DIR/node_modules/shaka-packager/bin/packager-linux-x64")
				}
			}
			err = c.packagePart()
		case "serve":
			err = c.servePart()
		default:
			err = fmt.Errorf("-parts: no part %q", p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *compare) header(dir string) {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fs, _ := exec.Command("findmnt", "-n", "-o", "FSTYPE", "-T", dir).Output()
	ff, _ := exec.Command("ffmpeg", "-version").Output()
	ffv, _, _ := strings.Cut(string(ff), "\n")
	fmt.Printf("comparepackage: %s, %d CPUs (%s), %s, kernel %s, %s, -dir %s (%s), load %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), model, runtime.Version(),
		strings.TrimSpace(string(kernel)), strings.Join(strings.Fields(ffv)[:3], " "), dir, strings.TrimSpace(string(fs)), loadAvg())
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// The 20 s source: three renditions from one testsrc2 (with temporal noise,
// so that the bit rates are a real encoder's), closed GOPs of exactly 48
// frames at 24 fps, no scene-cut keyframes, B-frames.
const loopSeconds = 20

var renditions = []struct {
	name, scale, rate string
	bitrate           int
}{
	{"ladder_1920x1080_6000.mp4", "", "6M", 6000000},
	{"ladder_1280x720_3000.mp4", "scale=1280:720", "3M", 3000000},
	{"ladder_640x360_1000.mp4", "scale=640:360", "1M", 1000000},
}

var languages = []struct{ lang, freq string }{{"eng", "440"}, {"fra", "660"}}

func ffmpeg(args ...string) error {
	return runQuiet("ffmpeg", append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)...)
}

func runQuiet(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (c *compare) src(name string) string { return filepath.Join(c.work, "src", name) }

func (c *compare) encodeSource() error {
	t0 := time.Now()
	if err := os.MkdirAll(c.src(""), 0o700); err != nil {
		return err
	}
	split := "[0:v]noise=alls=12:allf=t,split=3[v0][b][c];[b]scale=1280:720[v1];[c]scale=640:360[v2]"
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1920x1080:rate=24:duration=%d", loopSeconds), "-filter_complex", split}
	for i, r := range renditions {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i), "-c:v", "libx264", "-preset", "ultrafast",
			"-g", "48", "-keyint_min", "48", "-sc_threshold", "0", "-flags", "+cgop", "-bf", "2",
			"-pix_fmt", "yuv420p", "-profile:v", "main",
			"-b:v", r.rate, "-maxrate", r.rate, "-bufsize", strconv.Itoa(2*r.bitrate),
			"-movflags", "+faststart", c.src(r.name))
	}
	if err := ffmpeg(args...); err != nil {
		return err
	}
	fmt.Printf("source: 20 s of three renditions encoded in %.1f s\n", time.Since(t0).Seconds())
	return nil
}

// ladder makes the plaintext ladder in dir and returns how many times the
// 20 s were looped.
func (c *compare) ladder(dir string) (loops int, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	var per int64
	for _, r := range renditions {
		fi, err := os.Stat(c.src(r.name))
		if err != nil {
			return 0, err
		}
		per += fi.Size()
	}
	per += int64(len(languages)) * 128000 / 8 * loopSeconds
	loops = int(math.Ceil(float64(c.size) / float64(per)))
	for _, r := range renditions {
		if err := ffmpeg("-stream_loop", strconv.Itoa(loops-1), "-i", c.src(r.name), "-c", "copy", "-movflags", "+faststart", filepath.Join(dir, r.name)); err != nil {
			return 0, err
		}
	}
	secs := strconv.Itoa(loops * loopSeconds)
	for _, l := range languages {
		if err := ffmpeg("-f", "lavfi", "-i", "sine=frequency="+l.freq+":sample_rate=48000:duration="+secs,
			"-ac", "2", "-c:a", "aac", "-b:a", "128k", "-metadata:s:a:0", "language="+l.lang,
			"-movflags", "+faststart", filepath.Join(dir, audioName(l.lang))); err != nil {
			return 0, err
		}
	}
	var names []string
	for _, r := range renditions {
		names = append(names, r.name)
	}
	return loops, os.WriteFile(filepath.Join(dir, "ladder.ism"), ism(names, languages), 0o600)
}

func audioName(lang string) string { return "ladder_AACAudio_" + lang + "_128.mp4" }

// ism is a server manifest in the shape Media Encoder Standard wrote (as
// testdata/package/make_ladder.sh writes it).
func ism(videos []string, langs []struct{ lang, freq string }) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<smil xmlns=\"http://www.w3.org/2001/SMIL20/Language\">\n")
	b.WriteString("  <head>\n    <meta name=\"formats\" content=\"mp4-v2\" />\n  </head>\n  <body>\n    <switch>\n")
	for _, v := range videos {
		rate := 6000000
		for _, r := range renditions {
			if r.name == v {
				rate = r.bitrate
			}
		}
		fmt.Fprintf(&b, "      <video src=%q systemBitrate=\"%d\">\n", v, rate)
		fmt.Fprintf(&b, "        <param name=\"systemBitrate\" value=\"%d\" valuetype=\"data\" />\n", rate)
		b.WriteString("        <param name=\"trackID\" value=\"1\" valuetype=\"data\" />\n")
		b.WriteString("        <param name=\"trackName\" value=\"video\" valuetype=\"data\" />\n      </video>\n")
	}
	for _, l := range langs {
		fmt.Fprintf(&b, "      <audio src=%q systemBitrate=\"128000\" systemLanguage=%q>\n", audioName(l.lang), l.lang)
		b.WriteString("        <param name=\"systemBitrate\" value=\"128000\" valuetype=\"data\" />\n")
		b.WriteString("        <param name=\"trackID\" value=\"1\" valuetype=\"data\" />\n")
		fmt.Fprintf(&b, "        <param name=\"trackName\" value=\"aac_%s_2_128000_1_1\" valuetype=\"data\" />\n", l.lang)
		fmt.Fprintf(&b, "        <param name=\"systemLanguage\" value=%q valuetype=\"data\" />\n      </audio>\n", l.lang)
	}
	b.WriteString("    </switch>\n  </body>\n</smil>\n")
	return b.Bytes()
}

// encrypt storage-encrypts the files of plain into enc with
// testdata/serve/encrypt_asset.py, writing the key export to keys, and
// removes plain.
func (c *compare) encrypt(plain, enc, keys string) error {
	entries, err := os.ReadDir(plain)
	if err != nil {
		return err
	}
	args := []string{filepath.Join(c.root, "testdata/serve/encrypt_asset.py"), "--out", enc, "--keys-out", keys}
	for _, e := range entries {
		args = append(args, filepath.Join(plain, e.Name()))
	}
	if err := runQuiet(c.py, args...); err != nil {
		return err
	}
	return os.RemoveAll(plain)
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	return n, err
}

type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
}

// timeChild runs argv and returns what it cost.
func timeChild(argv ...string) (sample, error) {
	c, err := child.Run(argv...)
	return sample{wall: c.Wall, cpu: c.CPU, rssKiB: c.RSSKiB}, err
}

// syncTime is how long sync(2) takes: the writeback a run left behind.
func syncTime() time.Duration {
	t := time.Now()
	syscall.Sync()
	return time.Since(t)
}

// shakaArgs packages the restored ladder in dir into out in the layout
// amscrypt package writes: per track an init segment, numbered segments
// and a media playlist; an HLS master and a static DASH MPD.
func shakaArgs(bin, dir, out string, segSeconds int) []string {
	args := []string{bin}
	for i, r := range renditions {
		n := fmt.Sprintf("video-%d", i+1)
		args = append(args, fmt.Sprintf("in=%s,stream=video,init_segment=%s,segment_template=%s,playlist_name=%s.m3u8",
			filepath.Join(dir, r.name), filepath.Join(out, n+"-init.mp4"), filepath.Join(out, n+"-$Number%05d$.m4s"), n))
	}
	for i, l := range languages {
		n := fmt.Sprintf("audio-%d-%s", i+1, l.lang)
		args = append(args, fmt.Sprintf("in=%s,stream=audio,language=%s,init_segment=%s,segment_template=%s,playlist_name=%s.m3u8,hls_group_id=audio",
			filepath.Join(dir, audioName(l.lang)), l.lang, filepath.Join(out, n+"-init.mp4"), filepath.Join(out, n+"-$Number%05d$.m4s"), n))
	}
	return append(args, "--segment_duration", strconv.Itoa(segSeconds), "--generate_static_live_mpd",
		"--mpd_output", filepath.Join(out, "manifest.mpd"), "--hls_master_playlist_output", filepath.Join(out, "master.m3u8"))
}

// videoFrames counts the packets of the first video stream of what ffprobe
// reads at path (a file or an HLS playlist).
func videoFrames(path string) (int, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	return strconv.Atoi(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
}

type result struct {
	name      string
	samples   []sample
	parts     [][2]sample // restore+packager: the two children
	syncAfter []time.Duration
}

func (c *compare) packagePart() error {
	plain, enc, keys := filepath.Join(c.work, "ladder"), filepath.Join(c.work, "enc"), filepath.Join(c.work, "keys.json")
	t0 := time.Now()
	loops, err := c.ladder(plain)
	if err != nil {
		return err
	}
	frames := loops * loopSeconds * 24
	total, err := dirSize(plain)
	if err != nil {
		return err
	}
	t1 := time.Now()
	if err := c.encrypt(plain, enc, keys); err != nil {
		return err
	}
	shakaVersion, _ := exec.Command(c.shaka, "--version").Output()
	fmt.Printf("\npart 1: a ladder of %d bytes (%d s: the 20 s looped %d times; 3 renditions, 2 AAC tracks, .ism) made in %.1f s, encrypted in %.1f s; %s\n",
		total, loops*loopSeconds, loops, t1.Sub(t0).Seconds(), time.Since(t1).Seconds(), strings.TrimSpace(string(shakaVersion)))
	fmt.Printf("workers %d for restore and package; %d warm-up + %d timed rounds, order rotating; sync(2) after each run, not timed\n", c.workers, 1, c.rounds)
	w := strconv.Itoa(c.workers)
	out := filepath.Join(c.work, "out")
	restored := filepath.Join(c.work, "restored")
	results := []*result{{name: "restore"}, {name: "package"}, {name: "restore+packager"}}
	runOne := func(r *result) (sample, [2]sample, error) {
		os.RemoveAll(out)
		os.RemoveAll(restored)
		syscall.Sync()
		var s sample
		var parts [2]sample
		var err error
		switch r.name {
		case "restore":
			s, err = timeChild(c.bin, "restore", "--keys", keys, "--in", enc, "--out", out, "--workers", w, "--quiet")
		case "package":
			s, err = timeChild(c.bin, "package", "--keys", keys, "--in", enc, "--out", out, "--workers", w, "--quiet")
		case "restore+packager":
			if parts[0], err = timeChild(c.bin, "restore", "--keys", keys, "--in", enc, "--out", restored, "--workers", w, "--quiet"); err != nil {
				break
			}
			if err = os.MkdirAll(out, 0o700); err != nil {
				break
			}
			if parts[1], err = timeChild(shakaArgs(c.shaka, restored, out, 6)...); err != nil {
				break
			}
			s = sample{wall: parts[0].wall + parts[1].wall, cpu: parts[0].cpu + parts[1].cpu, rssKiB: max(parts[0].rssKiB, parts[1].rssKiB)}
		}
		return s, parts, err
	}
	// Warm-up, with the checks.
	for _, r := range results {
		if _, _, err := runOne(r); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if r.name != "restore" {
			n, err := videoFrames(filepath.Join(out, "video-1.m3u8"))
			if err != nil {
				return err
			}
			if n != frames {
				return fmt.Errorf("%s: video-1.m3u8 plays %d frames, the source has %d", r.name, n, frames)
			}
		}
	}
	fmt.Printf("warm-up checked: package's and the packager's video-1.m3u8 each play all %d frames of the 1080p source\n", frames)
	for round := range c.rounds {
		for i := range results {
			r := results[(i+round)%len(results)]
			s, parts, err := runOne(r)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			st := syncTime()
			r.samples, r.parts, r.syncAfter = append(r.samples, s), append(r.parts, parts), append(r.syncAfter, st)
			detail := ""
			if r.name == "restore+packager" {
				detail = fmt.Sprintf("  (restore %.3fs, packager %.3fs cpu %.2fs RSS %.1f MiB)", parts[0].wall.Seconds(), parts[1].wall.Seconds(), parts[1].cpu.Seconds(), mib(parts[1].rssKiB))
			}
			fmt.Printf("round %d  %-17s %7.3fs  %7.1f MB/s  cpu %6.2fs  peak RSS %6.1f MiB  sync after %5.3fs%s\n",
				round+1, r.name, s.wall.Seconds(), mbps(total, s.wall), s.cpu.Seconds(), mib(s.rssKiB), st.Seconds(), detail)
		}
	}
	os.RemoveAll(out)
	os.RemoveAll(restored)
	os.RemoveAll(enc)

	fmt.Printf("\n| | median wall (min-max) | MB/s | CPU | peak RSS | sync after |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		walls := walls(r.samples)
		fmt.Printf("| %s | %.2f s (%.2f-%.2f) | %.0f | %.2f s | %.1f MiB | %.2f s |\n", r.name, median(walls), slices.Min(walls), slices.Max(walls),
			float64(total)/1e6/median(walls), median(cpus(r.samples)), mib(maxRSS(r.samples)), median(seconds(r.syncAfter)))
	}
	rs, pk, rp := results[0], results[1], results[2]
	fmt.Printf("\npackage throughput / restore's: %.2fx by the medians, %.2fx the median of the rounds' own (rounds: %s); goal >= 0.8x\n",
		median(walls(rs.samples))/median(walls(pk.samples)), median(ratios(rs.samples, pk.samples)), fmtRatios(ratios(rs.samples, pk.samples)))
	fmt.Printf("package against restore+packager: %.2fx as fast by the medians, %.2fx the median of the rounds' own (rounds: %s)\n",
		median(walls(rp.samples))/median(walls(pk.samples)), median(ratios(rp.samples, pk.samples)), fmtRatios(ratios(rp.samples, pk.samples)))
	var pw, pc, pr []float64
	for _, p := range rp.parts {
		pw, pc, pr = append(pw, p[1].wall.Seconds()), append(pc, p[1].cpu.Seconds()), append(pr, mib(p[1].rssKiB))
	}
	fmt.Printf("the packager alone: %.2f s median wall, %.2f s CPU, peak RSS %.1f MiB\n", median(pw), median(pc), slices.Max(pr))
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func walls(s []sample) []float64 {
	var out []float64
	for _, x := range s {
		out = append(out, x.wall.Seconds())
	}
	return out
}

func cpus(s []sample) []float64 {
	var out []float64
	for _, x := range s {
		out = append(out, x.cpu.Seconds())
	}
	return out
}

func seconds(d []time.Duration) []float64 {
	var out []float64
	for _, x := range d {
		out = append(out, x.Seconds())
	}
	return out
}

func maxRSS(s []sample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rssKiB)
	}
	return m
}

// ratios returns base/x round by round: above 1, x was faster.
func ratios(base, x []sample) []float64 {
	var out []float64
	for i := range base {
		out = append(out, base[i].wall.Seconds()/x[i].wall.Seconds())
	}
	return out
}

func fmtRatios(r []float64) string {
	var s []string
	for _, x := range r {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, " ")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(v []float64, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Round(float64(len(s))*p)) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// server is a running `amscrypt serve`.
type server struct {
	cmd     *exec.Cmd
	base    string // URL, ending in "/"
	startup time.Duration
}

func (c *compare) startServe(keys, dir string) (*server, error) {
	cmd := exec.Command(c.bin, "serve", "--keys", keys, "--in", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// One log line per request goes to stderr: kept for an error only.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("amscrypt serve printed no URL: %w: %s", err, child.LastLines(stderr.String(), 5))
	}
	go io.Copy(io.Discard, stdout)
	base := strings.TrimSpace(line)
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &server{cmd: cmd, base: base, startup: time.Since(t)}, nil
}

// stop ends the server and returns its CPU time and peak RSS.
func (s *server) stop() (sample, error) {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
		}
	}()
	s.cmd.Wait()
	close(done)
	c, err := child.Usage(s.cmd.ProcessState, 0)
	return sample{wall: c.Wall, cpu: c.CPU, rssKiB: c.RSSKiB}, err
}

// get fetches url and returns the time to the first response byte and to
// the last, and the body's length.
func get(client *http.Client, url string) (first, total time.Duration, n int64, err error) {
	var gotFirst time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { gotFirst = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	n, err = io.Copy(io.Discard, resp.Body)
	total = time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("GET %s: %d bytes of %d", url, n, resp.ContentLength)
	}
	return gotFirst.Sub(start), total, n, err
}

func (c *compare) servePart() error {
	src := c.src(renditions[0].name)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	type source struct {
		name     string
		loops    int
		size     int64
		segments int
		cold     [2]time.Duration
	}
	large := &source{name: "large", loops: int((c.serveSize + fi.Size() - 1) / fi.Size())}
	small := &source{name: "small", loops: 1}
	// One asset holding both, each MP4 with its own .ism, behind one
	// server: the two differ in nothing but the file.
	t0 := time.Now()
	plain, enc := filepath.Join(c.work, "ttfb-plain"), filepath.Join(c.work, "ttfb")
	if err := os.MkdirAll(plain, 0o700); err != nil {
		return err
	}
	for _, a := range []*source{large, small} {
		mp4 := filepath.Join(plain, a.name+".mp4")
		if err := ffmpeg("-stream_loop", strconv.Itoa(a.loops-1), "-i", src, "-c", "copy", "-movflags", "+faststart", mp4); err != nil {
			return err
		}
		if fi, err := os.Stat(mp4); err == nil {
			a.size = fi.Size()
		}
		if err := os.WriteFile(filepath.Join(plain, a.name+".ism"), ism([]string{a.name + ".mp4"}, nil), 0o600); err != nil {
			return err
		}
		// 6 s segments of 2 s GOPs: the last may be shorter.
		a.segments = (a.loops*loopSeconds + 5) / 6
	}
	if err := c.encrypt(plain, enc, enc+".json"); err != nil {
		return err
	}
	fmt.Printf("\npart 2: one asset of two 1080p MP4s (+faststart), %d bytes (%d s) and %d bytes (%d s), each with its .ism, encrypted; made in %.1f s\n",
		large.size, large.loops*loopSeconds, small.size, small.loops*loopSeconds, time.Since(t0).Seconds())
	srv, err := c.startServe(enc+".json", enc)
	if err != nil {
		return err
	}
	defer srv.cmd.Process.Kill()
	client := &http.Client{Timeout: time.Minute}
	segURL := func(a *source, n int) string {
		return fmt.Sprintf("%s%s.ism/video-1-%05d.m4s", srv.base, a.name, n)
	}
	// The first request under each .ism: serve reads the moov and cuts the
	// presentation, then answers.
	for _, a := range []*source{large, small} {
		first, total, _, err := get(client, segURL(a, 2))
		if err != nil {
			return err
		}
		a.cold = [2]time.Duration{first, total}
	}
	// The presentations must have the segments asked for below.
	for _, a := range []*source{large, small} {
		if _, _, _, err := get(client, segURL(a, a.segments)); err != nil {
			return fmt.Errorf("the last segment: %w", err)
		}
	}
	type cell struct {
		label        string
		url          string
		first, total []float64
		bytes        int64
	}
	cells := []*cell{
		{label: fmt.Sprintf("small, segment 2 of %d", small.segments), url: segURL(small, 2)},
		{label: fmt.Sprintf("small, segment %d (last but one)", small.segments-1), url: segURL(small, small.segments-1)},
		{label: fmt.Sprintf("large, segment 2 of %d", large.segments), url: segURL(large, 2)},
		{label: fmt.Sprintf("large, segment %d (middle)", large.segments/2), url: segURL(large, large.segments/2)},
		{label: fmt.Sprintf("large, segment %d (last but one)", large.segments-1), url: segURL(large, large.segments-1)},
	}
	const reps = 21
	for rep := range reps {
		for i := range cells {
			cl := cells[(i+rep)%len(cells)]
			first, total, n, err := get(client, cl.url)
			if err != nil {
				return err
			}
			cl.first, cl.total, cl.bytes = append(cl.first, ms(first)), append(cl.total, ms(total)), n
		}
	}
	use, err := srv.stop()
	if err != nil {
		return err
	}
	fmt.Printf("\nserve start-up (until it printed its URL): %.1f ms\n\n", ms(srv.startup))
	fmt.Printf("| source | first request under its .ism (moov read, presentation cut): first byte / last |\n|---|---:|\n")
	for _, a := range []*source{large, small} {
		fmt.Printf("| %s, %d bytes | %.1f / %.1f ms |\n", a.name, a.size, ms(a.cold[0]), ms(a.cold[1]))
	}
	fmt.Printf("\n%d requests per row, interleaved (the order rotating), one keep-alive connection:\n\n| segment | bytes | first byte, median / p90 | last byte, median |\n|---|---:|---:|---:|\n", reps)
	for _, cl := range cells {
		fmt.Printf("| %s | %d | %.2f / %.2f ms | %.2f ms |\n", cl.label, cl.bytes, median(cl.first), percentile(cl.first, 0.9), median(cl.total))
	}
	fmt.Printf("\nlarge / small, first byte of segment 2: %.2fx (medians)\n", median(cells[2].first)/median(cells[0].first))
	fmt.Printf("serve: peak RSS %.1f MiB, CPU %.2f s over the part\n", mib(use.rssKiB), use.cpu.Seconds())
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
