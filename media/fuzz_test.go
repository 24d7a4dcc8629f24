package media_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/media"
)

// fuzzBoth runs both verifiers on data and fails when either panics (the
// fuzzer reports that) or when they disagree.
func fuzzBoth(t *testing.T, name string, fragment bool, data []byte) {
	f := media.File{Name: name, Fragment: fragment, Size: int64(len(data))}
	ra, raErr := media.VerifyAt(bytes.NewReader(data), f)
	st, stErr := stream(t, f, data, uint64(len(data)))
	if (raErr == nil) != (stErr == nil) || (raErr != nil && raErr.Error() != stErr.Error()) {
		t.Fatalf("VerifyAt: %v; Verifier: %v", raErr, stErr)
	}
	if ra.Level != st.Level || ra.Format != st.Format || ra.Note != st.Note {
		t.Fatalf("VerifyAt: %+v; Verifier: %+v", ra, st)
	}
	if raErr != nil && len(raErr.Error()) > 400 {
		t.Fatalf("error of %d bytes: %.100s...", len(raErr.Error()), raErr)
	}
}

// addFixtures seeds a fuzz target with the fixtures of its format, cut to at
// most max bytes.
func addFixtures(f *testing.F, format media.Format, max int) {
	_ = filepath.WalkDir(fixtureDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, p)
		if media.FormatOf(filepath.ToSlash(rel), filepath.Dir(rel) != ".") != format {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b[:min(len(b), max)])
			f.Add(b)
		}
		return nil
	})
}

func FuzzVerifyISOBMFF(f *testing.F) {
	addFixtures(f, media.FormatISOBMFF, 4096)
	f.Add(cat(isoBox("ftyp", make([]byte, 8)), largeBox("mdat", nil), []byte{0, 0, 0, 0, 'f', 'r', 'e', 'e'}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzBoth(t, "a.mp4", false, data)
		fuzzBoth(t, "v/header", true, data)
		fuzzBoth(t, "v/0", true, data)
	})
}

func FuzzVerifyMPEGTS(f *testing.F) {
	addFixtures(f, media.FormatMPEGTS, 188*3)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.ts", false, data) })
}

func FuzzVerifyPNG(f *testing.F) {
	addFixtures(f, media.FormatPNG, 100)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.png", false, data) })
}

func FuzzVerifyJPEG(f *testing.F) {
	addFixtures(f, media.FormatJPEG, 300)
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.jpg", false, data) })
}

func FuzzVerifyXML(f *testing.F) {
	addFixtures(f, media.FormatXML, 300)
	f.Add([]byte("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"latin1\"?><a b='c'>\xe9<!--x--></a><?p?>"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.xml", false, data) })
}

func FuzzVerifyJSON(f *testing.F) {
	addFixtures(f, media.FormatJSON, 300)
	f.Add([]byte("\xEF\xBB\xBF[1, {\"a\": null}, 1e999]"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.json", false, data) })
}

func FuzzVerifyWebVTT(f *testing.F) {
	addFixtures(f, media.FormatWebVTT, 40)
	f.Add([]byte("WEBVTT\r\n\r\nNOTE x\r\n\r\nid\r00:00:00.000 --> 00:00:01.000 line:0\r\nx\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBoth(t, "a.vtt", false, data) })
}

// FuzzCheckHead is restore's head fuzz target, moved with CheckHead.
func FuzzCheckHead(f *testing.F) {
	f.Add("iso-bmff", isoBox("ftyp", make([]byte, 16)), int64(24))
	f.Add("iso-bmff", largeBox("mdat", nil), int64(-1))
	f.Add("mpeg-ts", bytes.Repeat([]byte{0x47}, 376), int64(376))
	f.Add("xml", []byte("\xEF\xBB\xBF <a/>"), int64(-1))
	f.Add("webvtt", []byte("WEBVTT"), int64(6))
	f.Add("json", []byte("[]"), int64(2))
	f.Add("jpeg", []byte{0xFF, 0xD8, 0xFF}, int64(3))
	f.Add("png", []byte("\x89PNG\r\n\x1a\n"), int64(8))
	f.Add("", []byte{}, int64(0))
	f.Fuzz(func(t *testing.T, format string, head []byte, size int64) {
		err := media.CheckHead(media.Format(format), head, size)
		if err != nil && errors.Is(err, media.ErrHeadMismatch) && !strings.Contains(err.Error(), format) {
			t.Fatalf("%q: %v does not name the format", format, err)
		}
		if media.Format(format) == media.FormatUnknown && err != nil {
			t.Fatalf("unknown format: %v", err)
		}
	})
}
