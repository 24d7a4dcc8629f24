// Package uploadstate is the resume record of an encrypting upload: the IV
// a file is being encrypted under, on disk before the first block that uses
// it is sent, with what the file and the upload were (size, modification
// time, key id, block size), so that a resumed upload reuses the IV only
// over the same plaintext. It knows nothing of storage; azblobcrypt's
// UploadFile keeps one per (source, blob), and its errors speak as
// azblobcrypt's.
package uploadstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
)

// ErrMismatch is returned when a resume state file exists for the same
// source file and blob but no longer fits: the source's size or modification
// time changed, or the key, block size or requested IV differ. Resuming would
// encrypt different plaintext under an IV already used, so it is refused;
// delete the state file named in the error to start over with a fresh IV.
var ErrMismatch = errors.New("azblobcrypt: resume state does not match")

// Version is the version of the state file format.
const Version = 1

// State is what an interrupted upload leaves behind so that the next run
// stages only the missing blocks, under the same IV. It holds no secret:
// the IV and key id end up in the AssetFile anyway.
type State struct {
	Version   int
	Source    string // absolute path of the plaintext file
	Blob      string // blob URL without the SAS query
	Size      int64
	ModTime   time.Time
	KeyID     contentkey.ID
	IV        contentkey.IV
	BlockSize int64
}

// DefaultDir returns the directory resume state is kept in when none is
// given: the "amscrypt" folder of the user's cache directory.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("azblobcrypt: no directory for resume state (set a state dir): %w", err)
	}
	return filepath.Join(d, "amscrypt"), nil
}

// stateFile names the state file of one (source, blob) pair. Hashing both
// keeps two uploads of one file to different blobs, or of different files
// to one blob, apart.
func stateFile(dir, absSource, blob string) string {
	h := sha256.New()
	h.Write([]byte(absSource))
	h.Write([]byte{0})
	h.Write([]byte(blob))
	return filepath.Join(dir, "upload-"+hex.EncodeToString(h.Sum(nil)[:16])+".json")
}

// load reads a state file; it returns (nil, nil) when there is none.
func load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: reading resume state: %w", err)
	}
	var s State
	// Strictly: a repeated IV could resume under another IV than was staged.
	if err := jsonstrict.Decode(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s is not a valid state file (%v); delete it to start over", ErrMismatch, path, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("%w: %s has version %d, want %d; delete it to start over", ErrMismatch, path, s.Version, Version)
	}
	return &s, nil
}

// check explains why s may not be resumed with want, or returns nil.
func (s *State) check(path string, want *State, ivRequested *contentkey.IV) error {
	var why string
	switch {
	case s.Source != want.Source || s.Blob != want.Blob:
		why = fmt.Sprintf("it is for %s -> %s", s.Source, s.Blob)
	case s.Size != want.Size:
		why = fmt.Sprintf("the source was %d bytes and is now %d", s.Size, want.Size)
	case !s.ModTime.Equal(want.ModTime):
		why = fmt.Sprintf("the source was modified (%s, recorded %s)",
			want.ModTime.Format(time.RFC3339Nano), s.ModTime.Format(time.RFC3339Nano))
	case s.KeyID != want.KeyID:
		why = fmt.Sprintf("it was started with key %s, not %s", s.KeyID, want.KeyID)
	case s.BlockSize != want.BlockSize:
		why = fmt.Sprintf("it was started with block size %d, not %d", s.BlockSize, want.BlockSize)
	case ivRequested != nil && *ivRequested != s.IV:
		why = fmt.Sprintf("it was started with IV %s, not the requested %s", s.IV, *ivRequested)
	default:
		return nil
	}
	return fmt.Errorf("%w: refusing to resume from %s: %s; resuming would reuse its IV over different data. Delete the state file to upload afresh with a new IV",
		ErrMismatch, path, why)
}

// save writes s to path with mode 0600, whole or not at all.
func save(path string, s *State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("azblobcrypt: resume state: %w", err)
	}
	// The IV must be on disk before the first block that uses it is staged.
	// save runs only when there was no state file; one that appeared
	// since is another upload of the same file to the same blob, under its
	// own IV, and is not replaced.
	if err := atomicfile.WritePrivate(path, append(data, '\n')); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("azblobcrypt: writing resume state: %w (is another upload of the same file to the same blob running?)", err)
		}
		return fmt.Errorf("azblobcrypt: writing resume state: %w", err)
	}
	return nil
}

// Resume sets want.IV: that of the state file of want's source and blob in
// dir ("": DefaultDir) if one exists and matches want (and iv, if not nil),
// else iv or a fresh IV, recorded in a new state file before anything is
// staged. It returns the state file's path, to remove once the blob is
// committed.
func Resume(dir string, want *State, iv *contentkey.IV) (string, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return "", err
		}
	}
	want.Version = Version
	sp := stateFile(dir, want.Source, want.Blob)
	st, err := load(sp)
	if err != nil {
		return "", err
	}
	if st != nil {
		if err := st.check(sp, want, iv); err != nil {
			return "", err
		}
		want.IV = st.IV
		return sp, nil
	}
	if iv != nil {
		want.IV = *iv
	} else if want.IV, err = contentkey.NewIV(); err != nil {
		return "", err
	}
	return sp, save(sp, want)
}
