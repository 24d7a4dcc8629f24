package azblobcrypt

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

func TestStateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	id, _ := contentkey.NewID()
	s := &uploadState{
		Version: stateVersion, Source: "/data/a.mp4", Blob: "https://acct.blob.core.windows.net/c/a.mp4",
		Size: 1234, ModTime: time.Unix(1700000000, 123456789), KeyID: id, IV: 397304628502661816, BlockSize: 4 << 20,
	}
	p := statePath(dir, s.Source, s.Blob)
	if p == statePath(dir, s.Source, s.Blob+"x") || p == statePath(dir, s.Source+"x", s.Blob) {
		t.Fatal("state path does not depend on both the source and the blob")
	}
	if got, err := loadState(p); got != nil || err != nil {
		t.Fatalf("missing state file: %v, %v; want nil, nil", got, err)
	}
	if err := saveState(p, s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	got, err := loadState(p)
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
		change func(*uploadState)
		iv     *contentkey.IV
		why    string
	}{
		{func(w *uploadState) { w.Size++ }, nil, "bytes and is now"},
		{func(w *uploadState) { w.ModTime = w.ModTime.Add(time.Nanosecond) }, nil, "modified"},
		{func(w *uploadState) { w.KeyID[0] ^= 1 }, nil, "key"},
		{func(w *uploadState) { w.BlockSize = 1 << 20 }, nil, "block size"},
		{func(w *uploadState) { w.Source = "/other" }, nil, "it is for"},
		{func(*uploadState) {}, new(contentkey.IV), "IV"},
	} {
		w := *s
		tc.change(&w)
		err := got.check(p, &w, tc.iv)
		if !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", tc.why, err)
		}
	}

	for _, bad := range []string{"not json", `{"Version":2}`, `{"Version":1,"Extra":true}`} {
		os.WriteFile(p, []byte(bad), 0o600)
		if _, err := loadState(p); !errors.Is(err, ErrStateMismatch) {
			t.Errorf("state file %q: %v, want ErrStateMismatch", bad, err)
		}
	}
}

func TestLoadStateRefusesRepeatedMembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"Version":1,"IV":"1","iv":"2"}`), 0o600))
	_, err := loadState(path)
	require.ErrorIs(t, err, ErrStateMismatch)
	require.ErrorContains(t, err, "duplicate JSON member")
}
