// Command onegop writes a progressive MP4 of one H.264 track with one
// sync sample and N samples of 64 KiB in a sparse mdat (zeros, not
// decodable, which packaging never looks at): packaged, it is one segment
// as long as the file, to measure that a segment's memory does not grow
// with it (bench/README.md, "One segment as long as the file").
//
//	go run ./testdata/package/onegop FILE N
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	"github.com/Eyevinn/mp4ff/mp4"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: onegop FILE SAMPLES")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "onegop: SAMPLES must be a positive number")
		os.Exit(2)
	}
	const size = 64 << 10
	sps, _ := hex.DecodeString("674d401eeca05017fcb808800000030080000018078b16cb")
	pps, _ := hex.DecodeString("68ef8472")
	init := mp4.CreateEmptyInit()
	trak := init.AddEmptyTrack(1000, "video", "und")
	init.Moov.Mvex = nil
	init.Moov.Children = []mp4.Box{init.Moov.Mvhd, trak}
	avcC, _ := mp4.CreateAvcC([][]byte{sps}, [][]byte{pps}, true)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateVisualSampleEntryBox("avc1", 640, 360, avcC))
	stbl := trak.Mdia.Minf.Stbl
	stbl.Stts.SampleCount, stbl.Stts.SampleTimeDelta = []uint32{uint32(n)}, []uint32{40}
	stbl.Stsc.Entries = nil
	_ = stbl.Stsc.AddEntry(1, uint32(n), 1)
	stbl.Stsz.SampleUniformSize, stbl.Stsz.SampleNumber = size, uint32(n)
	stbl.Stss = &mp4.StssBox{SampleNumber: []uint32{1}}
	stbl.Children = append(stbl.Children, stbl.Stss)
	co := &mp4.Co64Box{ChunkOffset: []uint64{0}}
	stbl.Stco = nil
	for i, c := range stbl.Children {
		if _, ok := c.(*mp4.StcoBox); ok {
			stbl.Children[i] = co
		}
	}
	stbl.Co64 = co
	trak.Mdia.Mdhd.Duration = uint64(n) * 40
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "onegop:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	head := uint64(init.Ftyp.Size() + init.Moov.Size())
	co.ChunkOffset[0] = head + 16
	must(init.Ftyp.Encode(w))
	must(init.Moov.Encode(w))
	total := uint64(n) * size
	mdatHdr := []byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 0}
	v := total + 16
	for i := 0; i < 8; i++ {
		mdatHdr[15-i] = byte(v >> (8 * i))
	}
	_, err = w.Write(mdatHdr)
	must(err)
	must(w.Flush())
	must(f.Truncate(int64(head + 16 + total)))
	must(f.Close())
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "onegop:", err)
		os.Exit(1)
	}
}
