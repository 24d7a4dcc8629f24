package media_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/media"
)

// fixtureDir holds files made by ffmpeg (testdata/media/gen_media.sh).
var fixtureDir = filepath.Join("..", "testdata", "media")

type fixture struct {
	name     string // path under fixtureDir, as an asset would name it
	fragment bool
	data     []byte
}

func fixtures(t *testing.T) []fixture {
	t.Helper()
	var out []fixture
	err := filepath.WalkDir(fixtureDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".sh") {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		out = append(out, fixture{name: rel, fragment: strings.HasPrefix(rel, "live/"), data: data})
		return err
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(out), 15, "the fixtures are missing: run sh testdata/media/gen_media.sh")
	return out
}

func (f fixture) file(data []byte) media.File {
	return media.File{Name: f.name, Fragment: f.fragment, Size: int64(len(data))}
}

// stream feeds data to a Verifier in pieces of random sizes.
func stream(t testing.TB, f media.File, data []byte, seed uint64) (media.Result, error) {
	t.Helper()
	v := media.NewVerifier(f)
	rng := rand.New(rand.NewPCG(seed, 7))
	for p := data; len(p) > 0; {
		n := min(len(p), 1+rng.IntN(1<<uint(rng.IntN(14))))
		k, err := v.Write(p[:n])
		require.NoError(t, err)
		require.Equal(t, n, k)
		p = p[n:]
	}
	return v.Verify()
}

// both verifies data by streaming and by random access, checks that they
// agree, and returns the random-access result.
func both(t *testing.T, f media.File, data []byte) (media.Result, error) {
	t.Helper()
	ra, raErr := media.VerifyAt(bytes.NewReader(data), f)
	for seed := uint64(1); seed <= 3; seed++ {
		st, stErr := stream(t, f, data, seed)
		require.Equal(t, raErr == nil, stErr == nil, "%s (%d bytes): VerifyAt says %v, Verifier %v", f.Name, len(data), raErr, stErr)
		if raErr != nil {
			require.Equal(t, raErr.Error(), stErr.Error(), "%s (%d bytes)", f.Name, len(data))
		}
		require.Equal(t, ra.Level, st.Level)
		require.Equal(t, ra.Note, st.Note)
		require.Equal(t, ra.Format, st.Format)
		require.Equal(t, int64(len(data)), st.Read)
	}
	return ra, raErr
}

func TestFixturesVerify(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			res, err := both(t, fx.file(fx.data), fx.data)
			require.NoError(t, err)
			require.Equal(t, media.LevelStructure, res.Level)
			require.Empty(t, res.Note, "mp4ff reads every box ffmpeg writes")
			require.Equal(t, media.FormatOf(fx.name, fx.fragment), res.Format)
			if res.Format == media.FormatISOBMFF && !fx.fragment {
				// Headers, moov and moofs, not the media data.
				require.Less(t, res.Read, int64(len(fx.data))/2, "read %d of %d bytes", res.Read, len(fx.data))
			}
		})
	}
}

// topBoxes returns the offsets where the top-level boxes of an ISO-BMFF
// file start, and the file's end, found by mp4ff.
func topBoxes(t *testing.T, data []byte) (offs []int64, types []string) {
	t.Helper()
	r := bytes.NewReader(data)
	for off := int64(0); off < int64(len(data)); {
		_, err := r.Seek(off, 0)
		require.NoError(t, err)
		h, err := mp4.DecodeHeader(r)
		require.NoError(t, err)
		offs, types = append(offs, off), append(types, h.Name)
		off += int64(h.Size)
	}
	return append(offs, int64(len(data))), types
}

// TestTruncations cuts every fixture at the places a damaged copy ends:
// every top-level box boundary, inside moov, moof and mdat, inside a TS
// packet, in the last bytes of every format. Streaming and random access
// must both refuse the cut file with the same error, except where the cut
// leaves a file that is whole by its own structure (see wholeCut).
func TestTruncations(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			format := media.FormatOf(fx.name, fx.fragment)
			cuts := map[int64]string{}
			n := int64(len(fx.data))
			for _, k := range []int64{1, 2, 3, 5, 8, 17} {
				if k < n {
					cuts[n-k] = "last bytes"
				}
			}
			cuts[n/2] = "middle"
			if format == media.FormatISOBMFF {
				offs, types := topBoxes(t, fx.data)
				for i, off := range offs[:len(offs)-1] {
					if off > 0 {
						cuts[off] = "before " + types[i]
					}
					size := offs[i+1] - off
					cuts[off+4] = "inside the header of " + types[i]
					cuts[off+size/2] = "inside " + types[i]
					cuts[offs[i+1]-1] = "last byte of " + types[i]
				}
			}
			if format == media.FormatMPEGTS {
				cuts[188*5+100] = "inside a packet"
				cuts[n-188+1] = "one byte into the last packet"
			}
			keys := make([]int64, 0, len(cuts))
			for k := range cuts {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
			failed := 0
			for _, cut := range keys {
				data := fx.data[:cut]
				res, err := both(t, fx.file(data), data)
				if whole := wholeCut(t, fx, cut); whole {
					require.NoError(t, err, "cut at %d (%s)", cut, cuts[cut])
					require.Equal(t, media.LevelStructure, res.Level)
					continue
				}
				failed++
				require.Error(t, err, "cut at %d (%s) of %d verified", cut, cuts[cut], n)
				require.Equal(t, media.LevelNone, res.Level)
				if cut >= media.HeadSize {
					require.ErrorIs(t, err, media.ErrStructure, "cut at %d (%s)", cut, cuts[cut])
					var se *media.StructureError
					require.True(t, errors.As(err, &se))
					require.Equal(t, format, se.Format)
				} else {
					require.True(t, errors.Is(err, media.ErrStructure) || errors.Is(err, media.ErrHeadMismatch), "%v", err)
				}
			}
			require.Positive(t, failed)
		})
	}
}

// wholeCut reports the cuts that leave a file whole by its own structure,
// which no verifier can tell from an intact shorter file (restore's size
// check against ContentFileSize can): a fragmented MP4 or fragment cut
// between fragments, an MPEG-TS cut between packets, a text format cut in
// trailing white space or in cue text.
func wholeCut(t *testing.T, fx fixture, cut int64) bool {
	t.Helper()
	switch media.FormatOf(fx.name, fx.fragment) {
	case media.FormatISOBMFF:
		offs, types := topBoxes(t, fx.data)
		for i, off := range offs {
			if off == cut && i > 0 && types[i-1] == "mdat" && i-2 >= 0 && types[i-2] == "moof" {
				return true
			}
		}
		return false
	case media.FormatMPEGTS:
		return cut%188 == 0
	case media.FormatXML, media.FormatJSON:
		return len(bytes.TrimSpace(fx.data[cut:])) == 0
	case media.FormatWebVTT:
		// Cue text and the blank lines after it end nowhere in particular.
		last := bytes.LastIndex(fx.data[:cut], []byte("-->"))
		return last >= 0 && bytes.IndexByte(fx.data[last:cut], '\n') >= 0
	}
	return false
}
