package blobcrypt

import (
	"bytes"
	"io"
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

// FuzzXORKeyStreamAt checks a random range against the slice of the
// sequential stream from offset 0.
func FuzzXORKeyStreamAt(f *testing.F) {
	f.Add(uint64(0), uint16(0), uint16(100))
	f.Add(uint64(1<<64-1), uint16(15), uint16(17))
	f.Add(uint64(397304628502661816), uint16(4095), uint16(4097))
	key := testKey(f)
	f.Fuzz(func(t *testing.T, iv uint64, off, n uint16) {
		total := int(off) + int(n)
		pt := plaintext(total)
		var seq bytes.Buffer
		w, err := NewWriter(&seq, key, contentkey.IV(iv), 0)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(pt)
		c, err := NewCipher(key, contentkey.IV(iv))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		c.XORKeyStreamAt(got, pt[off:], int64(off))
		if !bytes.Equal(got, seq.Bytes()[off:]) {
			t.Fatalf("iv %d: XORKeyStreamAt at %d+%d differs from the sequential stream", iv, off, n)
		}
	})
}

// FuzzStreamChunking writes and reads in arbitrary pieces and compares with
// the one-shot encryption. Each byte of sizes is a piece length (0 means 1).
func FuzzStreamChunking(f *testing.F) {
	f.Add(uint32(0), uint16(1000), []byte{1})
	f.Add(uint32(7), uint16(5000), []byte{16, 255, 3})
	f.Add(uint32(1<<20+5), uint16(300), []byte{0, 17})
	key := testKey(f)
	f.Fuzz(func(t *testing.T, off uint32, n uint16, sizes []byte) {
		if len(sizes) == 0 {
			sizes = []byte{1}
		}
		piece := func(i int) int { return int(sizes[i%len(sizes)]) + 1 }
		pt := plaintext(int(n))
		want := make([]byte, n)
		c, err := NewCipher(key, 42)
		if err != nil {
			t.Fatal(err)
		}
		c.XORKeyStreamAt(want, pt, int64(off))

		var enc bytes.Buffer
		w, err := NewWriter(&enc, key, 42, int64(off))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := 0, pt; len(p) > 0; i++ {
			k := min(piece(i), len(p))
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if !bytes.Equal(want, enc.Bytes()) {
			t.Fatal("chunked Writer differs from one-shot encryption")
		}

		r, err := NewReader(bytes.NewReader(want), key, 42, int64(off))
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 257)
		for i := 0; ; i++ {
			k, err := r.Read(buf[:piece(i)])
			got = append(got, buf[:k]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(pt, got) {
			t.Fatal("chunked Reader does not decrypt to the plaintext")
		}
	})
}
