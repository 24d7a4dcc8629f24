package restore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// expected is testdata/restore/expected.json, written by gen_restore.py
// with Python's cryptography: the plaintext digest of every file, and which
// key exports are valid.
type expected struct {
	Assets map[string]struct {
		EncDir   string `json:"enc_dir"`
		PlainDir string `json:"plain_dir"`
		Files    []struct {
			Path        string       `json:"path"`
			Size        int64        `json:"size"`
			SHA256      string       `json:"sha256"`
			Format      media.Format `json:"format"`
			PlainStored bool         `json:"plain_stored"`
		} `json:"files"`
	} `json:"assets"`
	Exports []struct {
		File  string `json:"file"`
		Asset string `json:"asset"`
		Valid bool   `json:"valid"`
	} `json:"key_exports"`
}

func loadExpected(t *testing.T) expected {
	var e expected
	testvectors.Load(t, "restore/expected.json", &e)
	return e
}

func planOf(t *testing.T, docs ...string) *keyexport.Plan {
	t.Helper()
	var ds []keyexport.Document
	for _, d := range docs {
		ds = append(ds, keyexport.Document{Name: d, Data: testvectors.Read(t, filepath.Join("restore", d))})
	}
	p, err := keyexport.NewPlan(ds, nil)
	require.NoError(t, err)
	return p
}

func asset(name string) restore.Dir {
	return restore.Dir{Root: filepath.Join(testvectors.Dir, "restore", name, "enc")}
}

func run(t *testing.T, out string, src restore.Source, p *keyexport.Plan, o *restore.RunOptions) *restore.Report {
	t.Helper()
	var sink restore.Sink
	if out != "" {
		sink = restore.Dir{Root: out}
	}
	r, err := restore.Run(context.Background(), sink, src, p, o)
	require.NoError(t, err)
	return r
}

func byName(r *restore.Report) map[string]restore.FileReport {
	m := map[string]restore.FileReport{}
	for _, f := range r.Files {
		m[f.Name] = f
	}
	return m
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRestoreMatchesIndependentFixtures restores both fixture assets from
// every key export that can do it alone (or with the listing that gives the
// IVs) and compares every plaintext with the digests Python computed.
func TestRestoreMatchesIndependentFixtures(t *testing.T) {
	exp := loadExpected(t)
	for _, tt := range []struct {
		asset string
		docs  []string
	}{
		{"vod", []string{"vod/keys/v3.json"}},
		{"vod", []string{"vod/keys/keyvault-secret.json"}},
		{"vod", []string{"vod/keys/v2-files-minimal.json", "vod/keys/keyfile.json"}},
		{"vod", []string{"vod/keys/v2-files-verbose.json", "vod/keys/rebind-minimal.json"}},
		{"vod", []string{"vod/keys/v2-files-minimal.json", "vod/keys/rebind-verbose.json", "vod/keys/v3.json", "vod/keys/keyvault-secret.json"}},
		{"live", []string{"live/keys/v3.json"}},
		{"live", []string{"live/keys/keyvault-secret.json"}},
		{"live", []string{"live/keys/v2-files-minimal.json", "live/keys/keyvault-secret.json"}},
	} {
		t.Run(tt.asset+"/"+filepath.Base(tt.docs[0]), func(t *testing.T) {
			out := t.TempDir()
			p := planOf(t, tt.docs...)
			r := run(t, out, asset(tt.asset), p, &restore.RunOptions{ChunkSize: 64 << 10})
			require.True(t, r.OK(), "%+v", r)
			got := byName(r)
			files := exp.Assets[tt.asset].Files
			require.Len(t, r.Files, len(files))
			for _, f := range files {
				fr := got[f.Path]
				require.Equal(t, restore.StatusRestored, fr.Status, "%s: %s", f.Path, fr.Error)
				require.Equal(t, f.SHA256, fr.SHA256, f.Path)
				require.Equal(t, f.Size, *fr.Size, f.Path)
				require.Equal(t, f.Format, fr.Format, f.Path)
				want := media.LevelNone
				if f.Format != "" {
					want = media.LevelStructure
				}
				require.Equal(t, want, fr.Verified, f.Path)
				require.Equal(t, f.SHA256, sha256File(t, filepath.Join(out, filepath.FromSlash(f.Path))), f.Path)
				info, err := os.Stat(filepath.Join(out, filepath.FromSlash(f.Path)))
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), f.Path)
			}
			require.Equal(t, len(files), r.Summary[restore.StatusRestored])

			// A second run transfers nothing and reports every file skipped.
			again := run(t, out, asset(tt.asset), p, nil)
			require.True(t, again.OK())
			require.Equal(t, len(files), again.Summary[restore.StatusSkipped], "%+v", again.Summary)
		})
	}
}

// TestRestoreWrongIVOrKey: a wrong IV fails that file's head check and
// writes nothing for it; a wrong key fails every file of a known format.
func TestRestoreWrongIVOrKey(t *testing.T) {
	out := t.TempDir()
	r := run(t, out, asset("vod"), planOf(t, "vod/bad/v3-wrong-iv.json"), nil)
	require.False(t, r.OK())
	movie := byName(r)["movie.mp4"]
	require.Equal(t, restore.StatusFailed, movie.Status)
	require.Contains(t, movie.Error, "wrong key or IV")
	require.NoFileExists(t, filepath.Join(out, "movie.mp4"))
	require.Equal(t, restore.StatusRestored, byName(r)["video.ism"].Status)
	require.Equal(t, 1, r.Summary[restore.StatusFailed])

	out = t.TempDir()
	r = run(t, out, asset("vod"), planOf(t, "vod/keys/v2-files-minimal.json", "vod/bad/keyfile-wrong-key.json"), nil)
	for _, f := range r.Files {
		if f.Format != "" {
			require.Equal(t, restore.StatusFailed, f.Status, f.Name)
			require.NoFileExists(t, filepath.Join(out, f.Name))
		}
	}
}

// TestRestoreCheckWritesNothing: --check reads heads only and reports
// every matched file checked.
func TestRestoreCheckWritesNothing(t *testing.T) {
	out := t.TempDir()
	r := run(t, out, asset("vod"), planOf(t, "vod/keys/v3.json"), &restore.RunOptions{Check: true})
	require.True(t, r.OK())
	require.Equal(t, len(r.Files), r.Summary[restore.StatusChecked])
	for _, f := range r.Files {
		require.Empty(t, f.SHA256, f.Name)
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Empty(t, entries)
	// No sink at all is fine with Check, and an error without it.
	_, err = restore.Run(context.Background(), nil, asset("vod"), planOf(t, "vod/keys/v3.json"), &restore.RunOptions{Check: true})
	require.NoError(t, err)
	_, err = restore.Run(context.Background(), nil, asset("vod"), planOf(t, "vod/keys/v3.json"), nil)
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
}

// TestRestoreMissingUnmatchedCopied uses the single-file AssetFile: every
// other file is unmatched (or copied verbatim with CopyUnmatched), and a
// plan entry with no file is missing.
func TestRestoreMissingUnmatchedCopied(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"movie.mp4", "data.bin"} {
		b, err := os.ReadFile(filepath.Join(asset("vod").Root, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(src, name), b, 0o600))
	}
	p := planOf(t, "vod/keys/v3.json")
	out := t.TempDir()
	r := run(t, out, restore.Dir{Root: src}, planOf(t, "vod/keys/assetfile-movie.json", "vod/keys/keyfile.json"), nil)
	got := byName(r)
	require.Equal(t, restore.StatusRestored, got["movie.mp4"].Status)
	require.Equal(t, restore.StatusUnmatched, got["data.bin"].Status)
	require.NoFileExists(t, filepath.Join(out, "data.bin"))
	require.False(t, r.OK())

	r = run(t, out, restore.Dir{Root: src}, planOf(t, "vod/keys/assetfile-movie.json", "vod/keys/keyfile.json"), &restore.RunOptions{CopyUnmatched: true})
	got = byName(r)
	require.Equal(t, restore.StatusSkipped, got["movie.mp4"].Status)
	require.Equal(t, restore.StatusCopied, got["data.bin"].Status)
	require.Equal(t, sha256File(t, filepath.Join(src, "data.bin")), sha256File(t, filepath.Join(out, "data.bin")))
	require.True(t, r.OK())

	r = run(t, t.TempDir(), restore.Dir{Root: src}, p, nil)
	require.Equal(t, len(p.Entries)-2, r.Summary[restore.StatusMissing])
	require.Equal(t, restore.StatusMissing, byName(r)["clip.ts"].Status)
	require.False(t, r.OK())
}

// TestRestoreCaseMismatch: an entry whose name differs only in case from
// the one file is matched, and the report says so.
func TestRestoreCaseMismatch(t *testing.T) {
	out := t.TempDir()
	r := run(t, out, asset("vod"), planOf(t, "vod/bad/v3-case.json"), nil)
	movie := byName(r)["movie.mp4"]
	require.Equal(t, restore.StatusRestored, movie.Status, movie.Error)
	require.Contains(t, movie.Note, "ignoring case")
	require.FileExists(t, filepath.Join(out, "movie.mp4"))
}

// TestRestoreSizeMismatch: a ContentFileSize that disagrees with the
// ciphertext fails the file before anything is written.
func TestRestoreSizeMismatch(t *testing.T) {
	out := t.TempDir()
	r := run(t, out, asset("vod"), planOf(t, "vod/bad/v2-truncated-size.json", "vod/keys/keyfile.json"), nil)
	big := byName(r)["big.mp4"]
	require.Equal(t, restore.StatusFailed, big.Status)
	require.Contains(t, big.Error, "truncated, oversized or the wrong file")
	require.NoFileExists(t, filepath.Join(out, "big.mp4"))
}

// TestRestoreRefusesForeignFile: a different file already at a destination
// name is not replaced, and the run says so.
func TestRestoreRefusesForeignFile(t *testing.T) {
	out := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(out, "data.bin"), make([]byte, 4096), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(out, "subs.vtt"), []byte("x"), 0o600))
	r := run(t, out, asset("vod"), planOf(t, "vod/keys/v3.json"), nil)
	got := byName(r)
	require.Equal(t, restore.StatusFailed, got["data.bin"].Status)
	require.Contains(t, got["data.bin"].Error, "different file of the same size")
	require.Equal(t, restore.StatusFailed, got["subs.vtt"].Status)
	require.Contains(t, got["subs.vtt"].Error, "not replaced")
	b, _ := os.ReadFile(filepath.Join(out, "subs.vtt"))
	require.Equal(t, "x", string(b))
}

func TestCheckDirs(t *testing.T) {
	in := t.TempDir()
	require.ErrorIs(t, restore.CheckDirs(in, in), restore.ErrOutInsideIn)
	require.ErrorIs(t, restore.CheckDirs(filepath.Join(in, "a", "b"), in), restore.ErrOutInsideIn)
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(in, link))
	require.ErrorIs(t, restore.CheckDirs(filepath.Join(link, "out"), in), restore.ErrOutInsideIn)
	require.NoError(t, restore.CheckDirs(t.TempDir(), in))
	require.NoError(t, restore.CheckDirs(in+"-out", in))
}

func TestRestoreListsSorted(t *testing.T) {
	files, err := asset("live").List(context.Background())
	require.NoError(t, err)
	require.True(t, sort.SliceIsSorted(files, func(i, j int) bool { return files[i].Path < files[j].Path }))
	var paths []string
	for _, f := range files {
		require.True(t, f.Regular, f.Path)
		paths = append(paths, f.Path)
	}
	require.Contains(t, paths, "video/header")
	require.Contains(t, paths, "audio_eng=128000/20053333")
}

// digestSink is a directory whose outputs hash what they are given, as a
// block blob does: Run must take each file's digest from them.
type digestSink struct {
	restore.Dir
	asked *atomic.Int64 // calls of SHA256
}

type digestOutput struct {
	restore.Output
	h     hash.Hash
	asked *atomic.Int64
}

func (o *digestOutput) Write(p []byte) (int, error) { o.h.Write(p); return o.Output.Write(p) }
func (o *digestOutput) SHA256() []byte              { o.asked.Add(1); return o.h.Sum(nil) }

func (s digestSink) Create(ctx context.Context, rel string, info restore.OutputInfo) (restore.Output, error) {
	out, err := s.Dir.Create(ctx, rel, info)
	if err != nil {
		return nil, err
	}
	return &digestOutput{Output: out, h: sha256.New(), asked: s.asked}, nil
}

// TestRestoreDigestFromOutput: with a DigestOutput, the report's digests
// are the output's, and they are right.
func TestRestoreDigestFromOutput(t *testing.T) {
	exp := loadExpected(t)
	out := t.TempDir()
	sink := digestSink{restore.Dir{Root: out}, new(atomic.Int64)}
	r, err := restore.Run(context.Background(), sink, asset("vod"), planOf(t, "vod/keys/v3.json"), nil)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	require.Equal(t, int64(r.Summary[restore.StatusRestored]), sink.asked.Load())
	got := byName(r)
	for _, f := range exp.Assets["vod"].Files {
		require.Equal(t, f.SHA256, got[f.Path].SHA256, f.Path)
		require.Equal(t, f.SHA256, sha256File(t, filepath.Join(out, filepath.FromSlash(f.Path))), f.Path)
	}
}

// TestRestoreNeverLeavesOut: a symbolic link inside the output directory
// where a track's directory goes is an error naming it; nothing is
// written through it, and the other tracks restore.
func TestRestoreNeverLeavesOut(t *testing.T) {
	base := t.TempDir()
	out, victim := filepath.Join(base, "out"), filepath.Join(base, "victim")
	require.NoError(t, os.Mkdir(out, 0o700))
	require.NoError(t, os.Mkdir(victim, 0o700))
	require.NoError(t, os.Symlink("../victim", filepath.Join(out, "video")))
	r := run(t, out, asset("live"), planOf(t, "live/keys/v3.json"), nil)
	got := byName(r)
	for _, name := range []string{"video/header", "video/0"} {
		require.Equal(t, restore.StatusFailed, got[name].Status, name)
		require.Contains(t, got[name].Error, filepath.Join(out, "video")+" is a symbolic link")
	}
	require.Equal(t, restore.StatusRestored, got["audio_eng=128000/header"].Status)
	entries, err := os.ReadDir(victim)
	require.NoError(t, err)
	require.Empty(t, entries, "written through the link")
}

// TestRestoreNeverFollowsSourceLinks: a symbolic link inside the source,
// matched or copied unmatched, is reported and never read, wherever it
// points.
func TestRestoreNeverFollowsSourceLinks(t *testing.T) {
	src := t.TempDir()
	b, err := os.ReadFile(filepath.Join(asset("vod").Root, "movie.mp4"))
	require.NoError(t, err)
	outside := filepath.Join(t.TempDir(), "secret.bin")
	require.NoError(t, os.WriteFile(outside, b, 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(src, "movie.mp4")))
	require.NoError(t, os.Symlink("/proc/self/status", filepath.Join(src, "status")))
	out := t.TempDir()
	r := run(t, out, restore.Dir{Root: src}, planOf(t, "vod/keys/v3.json"), &restore.RunOptions{CopyUnmatched: true})
	got := byName(r)
	for _, name := range []string{"movie.mp4", "status"} {
		require.Equal(t, restore.StatusFailed, got[name].Status, name)
		require.Contains(t, got[name].Error, "symbolic links are never followed", name)
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// failingBody fails every range longer than a head, as a disk or a
// network would in the middle of a file.
type failingBody struct{ restore.Dir }

func (f failingBody) Open(ctx context.Context, sf restore.SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	o, c, err := f.Dir.Open(ctx, sf)
	return failAfterHead{o}, c, err
}

type failAfterHead struct{ blobcrypt.RangeOpener }

func (f failAfterHead) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if n > media.HeadSize {
		return nil, errors.New("disk on fire")
	}
	return f.RangeOpener.OpenRange(ctx, off, n)
}

// TestRestoreRemovesFreshEmptyOut: an output directory the run created and
// left empty by failing is removed; one that existed before is kept.
func TestRestoreRemovesFreshEmptyOut(t *testing.T) {
	p := planOf(t, "vod/keys/assetfile-movie.json", "vod/keys/keyfile.json")
	fresh := filepath.Join(t.TempDir(), "fresh")
	r := run(t, fresh, failingBody{asset("vod")}, p, nil)
	require.Contains(t, byName(r)["movie.mp4"].Error, "disk on fire")
	require.NoDirExists(t, fresh)

	kept := t.TempDir()
	run(t, kept, failingBody{asset("vod")}, p, nil)
	require.DirExists(t, kept)
}

// TestRestoreSourceWrittenDuringRead: a source file written over in place
// while it is read (same size, so the size checks cannot see it) fails
// rather than being committed as restored: the output would be a mix of two
// versions of the file.
func TestRestoreSourceWrittenDuringRead(t *testing.T) {
	in := t.TempDir()
	src := filepath.Join(testvectors.Dir, "restore", "vod", "enc", "big.mp4")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	victim := filepath.Join(in, "big.mp4")
	require.NoError(t, os.WriteFile(victim, b, 0o600))
	out := filepath.Join(t.TempDir(), "out")
	var once atomic.Bool
	o := &restore.RunOptions{Workers: 1, ChunkSize: 64 << 10,
		Progress: func(_, _ int, done, _ int64) {
			if done > 0 && once.CompareAndSwap(false, true) {
				// Another writer rewrites the last bytes, not yet read.
				f, err := os.OpenFile(victim, os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteAt(make([]byte, 4096), int64(len(b))-4096)
				require.NoError(t, err)
				require.NoError(t, f.Close())
				later := time.Now().Add(time.Second) // past any timestamp granularity
				require.NoError(t, os.Chtimes(victim, later, later))
			}
		}}
	r := run(t, out, restore.Dir{Root: in}, planOf(t, "vod/keys/v3.json"), o)
	got := byName(r)["big.mp4"]
	require.Equal(t, restore.StatusFailed, got.Status, "%+v", got)
	require.Contains(t, got.Error, "changed while it was read")
	_, err = os.Stat(filepath.Join(out, "big.mp4"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
