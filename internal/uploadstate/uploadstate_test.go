package uploadstate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

// TestResume: a first upload records a fresh (or the requested) IV; the
// next one of the same source and blob gets it back; one whose source
// changed is refused, naming the state file.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	id, _ := contentkey.NewID()
	want := func() *State {
		return &State{Source: "/data/a.mp4", Blob: "https://h/c/a.mp4", Size: 10, ModTime: time.Unix(1700000000, 0), KeyID: id, BlockSize: 4 << 20}
	}
	first := want()
	sp, err := Resume(dir, first, nil)
	require.NoError(t, err)
	again := want()
	sp2, err := Resume(dir, again, nil)
	require.NoError(t, err)
	require.Equal(t, sp, sp2)
	require.Equal(t, first.IV, again.IV)
	changed := want()
	changed.Size++
	_, err = Resume(dir, changed, nil)
	require.ErrorIs(t, err, ErrMismatch)
	require.ErrorContains(t, err, sp)

	iv := contentkey.IV(42)
	other := want()
	other.Blob += "2"
	_, err = Resume(dir, other, &iv)
	require.NoError(t, err)
	require.Equal(t, iv, other.IV)
}

func TestStateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	id, _ := contentkey.NewID()
	s := &State{
		Version: Version, Source: "/data/a.mp4", Blob: "https://acct.blob.core.windows.net/c/a.mp4",
		Size: 1234, ModTime: time.Unix(1700000000, 123456789), KeyID: id, IV: 397304628502661816, BlockSize: 4 << 20,
	}
	p := stateFile(dir, s.Source, s.Blob)
	if p == stateFile(dir, s.Source, s.Blob+"x") || p == stateFile(dir, s.Source+"x", s.Blob) {
		t.Fatal("state path does not depend on both the source and the blob")
	}
	if got, err := load(p); got != nil || err != nil {
		t.Fatalf("missing state file: %v, %v; want nil, nil", got, err)
	}
	if err := save(p, s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	got, err := load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.check(p, s, nil); err != nil {
		t.Fatalf("state does not match itself after a round trip: %v", err)
	}
	iv := s.IV
	if err := got.check(p, s, &iv); err != nil {
		t.Fatalf("same requested IV refused: %v", err)
	}
	for _, tc := range []struct {
		change func(*State)
		iv     *contentkey.IV
		why    string
	}{
		{func(w *State) { w.Size++ }, nil, "bytes and is now"},
		{func(w *State) { w.ModTime = w.ModTime.Add(time.Nanosecond) }, nil, "modified"},
		{func(w *State) { w.KeyID[0] ^= 1 }, nil, "key"},
		{func(w *State) { w.BlockSize = 1 << 20 }, nil, "block size"},
		{func(w *State) { w.Source = "/other" }, nil, "it is for"},
		{func(*State) {}, new(contentkey.IV), "IV"},
	} {
		w := *s
		tc.change(&w)
		err := got.check(p, &w, tc.iv)
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", tc.why, err)
		}
	}

	for _, bad := range []string{"not json", `{"Version":2}`, `{"Version":1,"Extra":true}`} {
		os.WriteFile(p, []byte(bad), 0o600)
		if _, err := load(p); !errors.Is(err, ErrMismatch) {
			t.Errorf("state file %q: %v, want ErrMismatch", bad, err)
		}
	}
}

func TestLoadRefusesRepeatedMembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"Version":1,"IV":"1","iv":"2"}`), 0o600))
	_, err := load(path)
	require.ErrorIs(t, err, ErrMismatch)
	require.ErrorContains(t, err, "duplicate JSON member")
}

// FuzzLoad: a state file on disk is outside input (another version, a
// hand edit, a truncated write). Nothing panics; an accepted state survives
// save and load unchanged.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"Version":1,"Source":"/data/movie.mp4","Blob":"https://a.blob.core.windows.net/c/movie.mp4","Size":300000,"ModTime":"2026-11-25T12:00:00Z","KeyID":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8","IV":"397304628502661816","BlockSize":4194304}`))
	f.Add([]byte(`{"Version":1,"IV":"1","IV":"2"}`))
	f.Add([]byte(`{"Version":99}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := load(path)
		if err != nil {
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("error does not match ErrMismatch: %v", err)
			}
			return
		}
		again := filepath.Join(dir, "again.json")
		if err := save(again, s); err != nil {
			t.Fatal(err)
		}
		s2, err := load(again)
		if err != nil {
			t.Fatalf("our own state file does not load: %v", err)
		}
		if s2.Version != s.Version || s2.Source != s.Source || s2.Blob != s.Blob || s2.Size != s.Size ||
			!s2.ModTime.Equal(s.ModTime) || s2.KeyID != s.KeyID || s2.IV != s.IV || s2.BlockSize != s.BlockSize {
			t.Fatalf("state does not round-trip: %+v vs %+v", s, s2)
		}
	})
}
