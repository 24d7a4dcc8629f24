package media_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/amscrypt/amscrypt/media"
)

// A Verifier rides on the stream a restore already hashes: here an MP4 cut
// in half, whose head is fine but whose mdat runs past the end.
func ExampleVerifier() {
	data, err := os.ReadFile("../testdata/media/progressive-moov-end.mp4")
	if err != nil {
		panic(err)
	}
	half := data[:len(data)/2]
	v := media.NewVerifier(media.File{Name: "movie.mp4", Size: int64(len(half))})
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, v), bytes.NewReader(half)); err != nil {
		panic(err)
	}
	res, err := v.Verify()
	fmt.Println(res.Level == media.LevelStructure)
	fmt.Println(err)
	// Output:
	// false
	// media: mdat box at 40 declares 17817 bytes, the file ends at 9726
}

// VerifyAt reads only the structure: the head, each box header, the moov.
func ExampleVerifyAt() {
	data, err := os.ReadFile("../testdata/media/progressive-moov-end.mp4")
	if err != nil {
		panic(err)
	}
	res, err := media.VerifyAt(bytes.NewReader(data), media.File{Name: "movie.mp4", Size: int64(len(data))})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s: read %d of %d bytes in %d reads\n", res.Format, res.Level, res.Read, len(data), res.Reads)
	// Output:
	// iso-bmff structure: read 1785 of 19453 bytes in 3 reads
}
