package restore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/workpool"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
)

// Status is what happened to one file of a restore.
type Status string

// The statuses of a Report. Only restored, skipped, checked and copied are
// successes.
const (
	// StatusRestored: decrypted and written whole.
	StatusRestored Status = "restored"
	// StatusSkipped: the destination already holds the file, complete (an
	// earlier run restored it).
	StatusSkipped Status = "skipped"
	// StatusChecked: with RunOptions.Check, the head was decrypted and checked;
	// nothing was written.
	StatusChecked Status = "checked"
	// StatusFailed: the file could not be restored; Error says why, and
	// nothing was written for it.
	StatusFailed Status = "failed"
	// StatusMissing: the plan names a file the source does not hold.
	StatusMissing Status = "missing"
	// StatusUnmatched: the source holds a file no document names. It is
	// neither decrypted nor dropped silently.
	StatusUnmatched Status = "unmatched"
	// StatusCopied: an unmatched file copied verbatim (RunOptions.CopyUnmatched).
	StatusCopied Status = "copied"
)

// FileReport is one line of a Report. Size is the plaintext length; SHA256
// is the lowercase hex digest of the plaintext when the whole file was read
// in this run. Verified says how much of the plaintext was verified against
// its format (package media): "structure", the whole file from its first
// byte to its last (restored files as they streamed, checked and skipped
// ones by their box headers and ends); "head", only its head (a format
// known by its magic alone); false, nothing.
type FileReport struct {
	Name     string       `json:"name"`
	Status   Status       `json:"status"`
	Size     *int64       `json:"size,omitempty"`
	SHA256   string       `json:"sha256,omitempty"`
	Verified media.Level  `json:"verified"`
	Format   media.Format `json:"format,omitempty"`
	Error    string       `json:"error,omitempty"`
	Note     string       `json:"note,omitempty"`
	// Gaps, for a stitched live-archive track (RunOptions.Stitch), is how
	// its fragblobs differ from the client manifest's timeline; nil when
	// they do not.
	Gaps *livearchive.Gaps `json:"gaps,omitempty"`
}

// Report is the outcome of Run: one entry per file, sorted by name, and a
// count per status.
type Report struct {
	Files   []FileReport   `json:"files"`
	Summary map[Status]int `json:"summary"`
}

// OK reports whether nothing failed, went missing or stayed unmatched.
func (r *Report) OK() bool {
	return r.Summary[StatusFailed] == 0 && r.Summary[StatusMissing] == 0 && r.Summary[StatusUnmatched] == 0
}

// RunOptions tune Run. The zero value restores every matched file with as many
// files in flight as there are CPUs.
type RunOptions struct {
	// Check verifies each file's structure by random access (its head, box
	// headers and ends: a few KiB per box, whatever the file's size) and
	// writes nothing.
	Check bool
	// CopyUnmatched copies files no document names verbatim to the sink.
	CopyUnmatched bool
	// Stitch writes each live-archive track as one fragmented MP4,
	// "<prefix>.mp4" (livearchive.Asset.Tracks), instead of its fragblobs.
	Stitch bool
	// Workers is the number of files in flight (each also reads ahead in its
	// own goroutine), a file of fewer chunks than it buffers (see
	// DefaultChunkSize) counting as a fraction; 0 means twice GOMAXPROCS,
	// or GOMAXPROCS for a ParallelSource.
	Workers int
	// ChunkSize is the size of each read; 0 means DefaultChunkSize.
	ChunkSize int
	// Progress, if set, is called from one goroutine at a time as bytes are
	// restored: files done and bytes done of the totals.
	Progress func(filesDone, files int, done, total int64)
	// Pool, if set, is the pool the files take turns on instead of one of
	// Workers large files of Run's own: the hook by which package batch
	// runs several assets at once in the memory of one Run.
	Pool *Pool
}

// Pool bounds the chunk buffers of the files in flight: a file holds as
// many units as the ordered pipeline gives it buffers, so that a small file
// takes less than a large one and more of them are in flight at once. It
// is safe for concurrent use by several Runs.
type Pool struct {
	sem  *semaphore.Weighted
	size int64
}

// NewPool returns the pool of workers large files of src (0: Run's default
// Workers for src), whatever the number of Runs that share it.
func NewPool(workers int, src Source) *Pool {
	reads, def := readParallelism(src)
	n := int64(cmp.Or(workers, def) * (2*reads + 2))
	return &Pool{semaphore.NewWeighted(n), n}
}

// readParallelism returns the reads of one file of src kept in flight (1
// but for a ParallelSource) and Workers 0 for src: twice GOMAXPROCS, which
// keeps the cores busy while some files wait in read or write, or
// GOMAXPROCS for a ParallelSource, whose files each keep several reads in
// flight already (more files would only multiply the buffers).
func readParallelism(src Source) (reads, workers int) {
	if ps, ok := src.(ParallelSource); ok {
		return max(1, ps.ReadParallelism()), runtime.GOMAXPROCS(0)
	}
	return 1, 2 * runtime.GOMAXPROCS(0)
}

// DefaultChunkSize is the read size of Run. Memory in use is about
// Workers x (2 x P + 2) x ChunkSize, P being the source's read parallelism
// (1 for a directory): chunks being read, queued and written per file in
// flight, 32 MiB with the default 4 workers of a 2-CPU machine. A file of
// fewer chunks holds fewer, and more such files are in flight.
const DefaultChunkSize = 2 << 20

// MaxWorkers bounds RunOptions.Workers.
const MaxWorkers = 256

// Source is where an asset's encrypted files are read from: a directory, or
// a blob container.
type Source interface {
	// List returns every file of the asset with its path relative to the
	// asset's root, '/'-separated.
	List(ctx context.Context) ([]SourceFile, error)
	// Open returns the stored bytes of f as ranges (blobcrypt.File reads
	// them), and what to close when done.
	Open(ctx context.Context, f SourceFile) (blobcrypt.RangeOpener, io.Closer, error)
}

// SourceFile is one file a Source holds.
type SourceFile struct {
	Path string
	Size int64
	// Tag identifies this version of the file (a blob's ETag), or "".
	Tag string
	// Regular is false for anything that is not a plain file (a symbolic
	// link, a device); such files are reported, never read.
	Regular bool
}

// Sink is where plaintext files go: a directory, or a blob container.
type Sink interface {
	// Existing returns the file at path if the sink holds one, or nil.
	Existing(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error)
	// Create starts the file at path, which appears only on Commit.
	Create(ctx context.Context, path string, info OutputInfo) (Output, error)
}

// OutputInfo describes a file being restored, for sinks that record it
// (a blob's Content-Type and metadata).
type OutputInfo struct {
	Size     int64
	MimeType string // from the plan, "" when unknown
	Source   SourceFile
}

// ParallelSource is implemented by sources whose reads are latency-bound
// (one HTTP request each): ReadParallelism reads of one file are then kept
// in flight, delivered in order.
type ParallelSource interface {
	Source
	ReadParallelism() int
}

// Output is a file being written to a Sink: it appears whole on Commit, and
// not at all after Abort (which is a no-op after Commit). Commit's digest
// is the file's SHA-256 in hex, or "" from a writer that computes none
// (cmaf.Package, unless the Output is a DigestOutput).
type Output interface {
	io.Writer
	Commit(sha256Hex string) error
	Abort()
}

// DigestOutput is an Output that computes the SHA-256 of the bytes written
// to it anyway (a block blob names its blocks by it): Run then takes the
// file's digest from it rather than hashing every byte twice.
type DigestOutput interface {
	Output
	// SHA256 returns the digest of everything written so far.
	SHA256() []byte
}

// job is one file to handle and what is known about it.
type job struct {
	src    SourceFile
	match  *keyexport.Match // nil for an unmatched file
	report *FileReport
	size   int64 // plaintext bytes
	// layout, for a stitched live-archive track, is where its bytes come
	// from (RunOptions.Stitch); nil for a file of the source.
	layout *livearchive.Layout
}

// Run restores the files of src that plan matches into dst (which may be nil
// with RunOptions.Check). It first decrypts the head of every matched file and
// checks it against the file's format, so that a wrong key or IV fails
// before any bulk work; a file whose head or size is wrong is reported
// failed and nothing is written for it. Files dst already holds complete are
// skipped, so an interrupted or failed run can simply be run again. The
// error is for the run as a whole (a listing failure, a cancelled context);
// per-file failures are in the Report.
func Run(ctx context.Context, dst Sink, src Source, plan *keyexport.Plan, opts *RunOptions) (*Report, error) {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Workers < 0 || o.Workers > MaxWorkers:
		return nil, fmt.Errorf("restore: %w: Workers %d is not 0 to %d", blobcrypt.ErrInvalidOptions, o.Workers, MaxWorkers)
	case o.ChunkSize < 0 || o.ChunkSize > 64<<20:
		return nil, fmt.Errorf("restore: %w: ChunkSize %d is not 0 to 64 MiB", blobcrypt.ErrInvalidOptions, o.ChunkSize)
	case dst == nil && !o.Check:
		return nil, fmt.Errorf("restore: %w: no destination to restore into", blobcrypt.ErrInvalidOptions)
	}
	reads, workers := readParallelism(src)
	o.Workers = cmp.Or(o.Workers, workers)
	if o.Pool == nil {
		o.Pool = NewPool(o.Workers, src)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	jobs, missing := newJobs(plan, files)
	r := &runner{ctx: ctx, dst: dst, src: src, key: plan.Key, o: o, reads: reads}
	// Phase 1: heads, for every matched file, before any bulk work.
	r.each(jobs, r.o.Workers, func(*job) int64 { return 1 }, func(j *job) {
		if j.match != nil {
			r.checkHead(j)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var tracks []*stitchJob
	if o.Stitch {
		jobs, tracks = r.takeTracks(jobs)
	}
	// Phase 2: the bytes.
	for _, j := range jobs {
		if j.report.Status == "" && (j.match != nil || o.CopyUnmatched) && !o.Check {
			r.total += j.size
			r.files++
		}
	}
	removeIfFresh := freshDir(dst)
	r.each(jobs, int(o.Pool.size), r.weight, r.finish)
	if o.Stitch {
		jobs = append(jobs, r.stitchTracks(tracks)...)
	}
	if err := ctx.Err(); err != nil {
		removeIfFresh()
		return nil, err
	}
	report := newReport(jobs, missing)
	if !report.OK() {
		removeIfFresh()
	}
	return report, nil
}

// freshDir returns, for a Dir sink whose root does not exist yet, a
// function that removes the root if a failed run left it empty; for any
// other sink, one that does nothing.
func freshDir(dst Sink) func() {
	d, ok := dst.(Dir)
	if _, err := os.Lstat(d.Root); !ok || !errors.Is(err, fs.ErrNotExist) {
		return func() {}
	}
	return func() { os.Remove(d.Root) } // removes an empty directory only
}

// newJobs matches the listed files to the plan: one job per file, matched or
// not, and the entries that matched nothing.
func newJobs(p *keyexport.Plan, files []SourceFile) ([]*job, []*keyexport.Entry) {
	byPath := make(map[string]SourceFile, len(files))
	paths := make([]string, 0, len(files))
	for _, f := range files {
		byPath[f.Path] = f
		paths = append(paths, f.Path)
	}
	m := p.Match(paths)
	jobs := make([]*job, 0, len(files))
	for i := range m.Matches {
		mt := &m.Matches[i]
		f := byPath[mt.Path]
		j := &job{src: f, match: mt, report: &FileReport{Name: mt.Path, Format: media.FormatOf(mt.Path, mt.Fragment)}, size: f.Size}
		if how := mt.Ignoring(); how != "" {
			j.report.Note = fmt.Sprintf("matched the entry %q ignoring %s", mt.Entry.Name, how)
		}
		jobs = append(jobs, j)
	}
	for _, path := range m.Unmatched {
		jobs = append(jobs, &job{src: byPath[path], report: &FileReport{Name: path}, size: byPath[path].Size})
	}
	return jobs, m.Missing
}

// finish is phase 2 for one file that passed phase 1: restore it, copy it,
// or just report it.
func (r *runner) finish(j *job) {
	switch {
	case j.report.Status != "":
		// failed its head or size check
	case j.match == nil && r.o.CopyUnmatched && !j.src.Regular:
		j.fail("%s", notRegular)
	case j.match == nil && !r.o.CopyUnmatched:
		j.report.Status = StatusUnmatched
		j.report.Size = nil
	case r.o.Check:
		if j.match == nil {
			j.report.Status = StatusUnmatched
		} else {
			j.report.Status = StatusChecked
		}
	default:
		r.transfer(j)
	}
}

// newReport lists every job and every missing entry, sorted by name.
func newReport(jobs []*job, missing []*keyexport.Entry) *Report {
	report := &Report{Summary: map[Status]int{}}
	for _, e := range missing {
		report.Files = append(report.Files, FileReport{Name: e.Name, Status: StatusMissing,
			Error: "no such file in the source; named by " + joinSources(e.Sources)})
	}
	for _, j := range jobs {
		report.Files = append(report.Files, *j.report)
	}
	sort.Slice(report.Files, func(a, b int) bool { return report.Files[a].Name < report.Files[b].Name })
	for _, f := range report.Files {
		report.Summary[f.Status]++
	}
	return report
}

func joinSources(s []string) string {
	switch len(s) {
	case 0:
		return "the plan"
	case 1:
		return s[0]
	}
	return fmt.Sprintf("%s and %d more", s[0], len(s)-1)
}

type runner struct {
	ctx   context.Context
	dst   Sink
	src   Source
	key   contentkey.Key
	o     RunOptions
	reads int // the source's reads in flight per file

	progress   sync.Mutex
	files      int
	filesDone  int
	total      int64
	doneAtomic atomic.Int64
}

// weight is how many of the pool's units a file's transfer takes: the
// chunk buffers the ordered pipeline gives it, so that a small file goes
// in flight several for one large one.
func (r *runner) weight(j *job) int64 {
	chunks := int64(r.o.ChunkSize)
	return max(1, min((j.size+chunks-1)/chunks, int64(2*r.reads+2)))
}

// each runs fn for every job on n goroutines, stopping early when
// the context is cancelled. fn reports its failures in the job's report,
// so the group shares no error. A fixed set of goroutines rather than one
// per job: a restore --check of 10,000 files runs a job every few
// microseconds, and a fresh goroutine grows its stack anew for each. A job
// holds weight(job) of the pool while fn runs, which a batch may share.
func (r *runner) each(jobs []*job, n int, weight func(*job) int64, fn func(*job)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(n, len(jobs)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(jobs)) && r.ctx.Err() == nil; i = next.Add(1) - 1 {
				w := min(weight(jobs[i]), r.o.Pool.size)
				if r.o.Pool.sem.Acquire(r.ctx, w) != nil {
					return
				}
				fn(jobs[i])
				r.o.Pool.sem.Release(w)
			}
		})
	}
	wg.Wait()
}

func (j *job) fail(format string, args ...any) {
	j.report.Status = StatusFailed
	j.report.Error = fmt.Sprintf(format, args...)
}

// notRegular is the report of a listed file that is a symbolic link, a
// device or anything else but a regular file.
const notRegular = "not a regular file (symbolic links are never followed); not read"

// checkHead checks a matched file's size against the plan and decrypts its
// head, so that a wrong key or IV fails before any bulk work; with Check it
// verifies the whole structure by random access instead.
func (r *runner) checkHead(j *job) {
	if !j.src.Regular {
		j.fail("%s", notRegular)
		return
	}
	size := j.src.Size
	j.report.Size = &size
	if e := j.match.Entry; !j.match.Fragment && e.Size >= 0 && e.Size != size {
		j.fail("the ciphertext has %d bytes but %s says the file has %d: truncated, oversized or the wrong file", size, joinSources(e.Sources), e.Size)
		return
	}
	f, c, err := r.open(j)
	if err != nil {
		j.fail("%v", err)
		return
	}
	defer c.Close()
	if r.o.Check {
		j.verified(media.VerifyAt(f, j.mediaFile()))
		return
	}
	head := make([]byte, min(media.HeadSize, size))
	if _, err := f.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && len(head) == 0) {
		j.fail("reading the head: %v", err)
	} else if err := media.CheckHead(j.report.Format, head, size); err != nil {
		j.fail("%v", err)
	}
}

// mediaFile describes j's plaintext to package media.
func (j *job) mediaFile() media.File {
	return media.File{Name: j.src.Path, Fragment: j.match.Fragment, Size: j.size}
}

// verified records a verification's result, or fails the file with its
// error.
func (j *job) verified(res media.Result, err error) {
	if err != nil {
		j.fail("%v", err)
		return
	}
	j.report.Verified, j.report.Format = res.Level, res.Format
	if res.Note != "" {
		j.report.Note = strings.TrimPrefix(j.report.Note+"; "+res.Note, "; ")
	}
}

// transfer restores (or copies) one file, or skips it when the sink already
// holds it complete.
func (r *runner) transfer(j *job) {
	if done, err := r.alreadyThere(j); err != nil {
		j.fail("%v", err)
		r.advance(j.size)
		return
	} else if done {
		j.report.Status = StatusSkipped
		r.finished()
		r.advance(j.size)
		return
	}
	sum, err := r.write(j)
	if err != nil {
		j.fail("%v", err)
		return
	}
	j.report.SHA256 = sum
	size := j.size
	j.report.Size = &size
	if j.match == nil {
		j.report.Status = StatusCopied
	} else {
		j.report.Status = StatusRestored
	}
}

// tailSize is how much of a file's end alreadyThere compares.
const tailSize = 4096

// alreadyThere reports whether the sink holds the file complete: the same
// size, and the same first and last bytes as the plaintext decrypts to. A
// file is put in place only whole, so a file of the right size whose ends
// match was written by an earlier run; anything else at that name is not
// ours and is not replaced.
func (r *runner) alreadyThere(j *job) (bool, error) {
	ra, size, c, err := r.dst.Existing(r.ctx, j.src.Path)
	if err != nil || ra == nil {
		return false, err
	}
	defer c.Close()
	if size != j.size {
		return false, fmt.Errorf("the destination already holds a file of %d bytes where %d are restored; not replaced (move it away and run again)", size, j.size)
	}
	plain, sc, err := r.open(j)
	if err != nil {
		return false, err
	}
	defer sc.Close()
	for _, off := range []int64{0, max(0, size-tailSize)} {
		n := min(tailSize, size-off)
		want, got := make([]byte, n), make([]byte, n)
		if _, err := plain.ReadAt(want, off); err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if _, err := ra.ReadAt(got, off); err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if string(want) != string(got) {
			return false, fmt.Errorf("the destination already holds a different file of the same size; not replaced (move it away and run again)")
		}
	}
	if j.match != nil {
		// What an earlier run (or an older version) committed is verified
		// as --check would, by its box headers and ends.
		res, err := media.VerifyAt(ra, j.mediaFile())
		if err != nil {
			return false, fmt.Errorf("the destination already holds this file, but: %w", err)
		}
		j.verified(res, nil)
	}
	return true, nil
}

// open returns the plaintext of j's file: decrypted if the plan matched it,
// as stored if it is copied unmatched.
func (r *runner) open(j *job) (*blobcrypt.File, io.Closer, error) {
	if j.layout != nil {
		return openStitched(r.ctx, j.layout)
	}
	o, c, err := r.src.Open(r.ctx, j.src)
	if err != nil {
		return nil, nil, err
	}
	var f *blobcrypt.File
	if j.match != nil {
		f, err = blobcrypt.Open(r.ctx, o, j.src.Size, r.key, j.match.Entry.IV)
	} else {
		f, err = blobcrypt.OpenStored(r.ctx, o, j.src.Size)
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return f, c, nil
}

// write decrypts the file on the shared ordered pipeline: P goroutines
// (the source's read parallelism, 1 for a directory) read and decrypt
// chunks, and the caller hashes and writes them in order, so that a file
// keeps two cores busy and SHA-256, which cannot be split, runs beside the
// cipher.
func (r *runner) write(j *job) (string, error) {
	plain, c, err := r.open(j)
	if err != nil {
		return "", err
	}
	defer c.Close()
	info := OutputInfo{Size: j.size, Source: j.src}
	if j.match != nil {
		info.MimeType = j.match.MimeType()
	}
	out, err := r.dst.Create(r.ctx, j.src.Path, info)
	if err != nil {
		return "", err
	}
	defer out.Abort()

	parallel, _ := readParallelism(r.src)
	var h hash.Hash // nil when the output hashes what it is given
	do, digests := out.(DigestOutput)
	if !digests {
		h = sha256.New()
	}
	var v *media.Verifier // the structure check, on the bytes already read
	if j.match != nil {
		v = media.NewVerifier(j.mediaFile())
	}
	chunk := int64(r.o.ChunkSize)
	err = workpool.Run(r.ctx, (j.size+chunk-1)/chunk, parallel, int(min(chunk, j.size)),
		func(_ context.Context, buf []byte, i int64) ([]byte, error) {
			off := i * chunk
			p := buf[:min(chunk, j.size-off)]
			if k, err := plain.ReadAt(p, off); k < len(p) {
				if err == nil || errors.Is(err, io.EOF) {
					err = fmt.Errorf("the source ended at byte %d of %d: %w", off+int64(k), j.size, io.ErrUnexpectedEOF)
				}
				return nil, err
			}
			return p, nil
		},
		func(_ int64, p []byte) error {
			if h != nil {
				h.Write(p)
			}
			if v != nil {
				v.Write(p)
				if err := v.Err(); err != nil {
					return err
				}
			}
			if _, err := out.Write(p); err != nil {
				return err
			}
			r.advance(int64(len(p)))
			return nil
		})
	if v != nil {
		res, verr := v.Verify() // also when abandoned: it ends its goroutine
		if err == nil && verr != nil {
			err = verr
		}
		if err == nil {
			j.verified(res, nil)
		}
	}
	if err != nil {
		return "", err
	}
	var sum string
	if digests {
		sum = hex.EncodeToString(do.SHA256())
	} else {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if u, ok := c.(interface{ unchanged() error }); ok {
		// A local source written over while it was read is a mix of two
		// versions: not committed.
		if err := u.unchanged(); err != nil {
			return "", err
		}
	}
	if err := out.Commit(sum); err != nil {
		return "", err
	}
	r.finished()
	return sum, nil
}

// advance counts n more bytes done and reports progress.
func (r *runner) advance(n int64) {
	done := r.doneAtomic.Add(n)
	if r.o.Progress == nil {
		return
	}
	r.progress.Lock()
	defer r.progress.Unlock()
	r.o.Progress(r.filesDone, r.files, done, r.total)
}

func (r *runner) finished() {
	r.progress.Lock()
	r.filesDone++
	r.progress.Unlock()
}
