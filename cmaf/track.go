package cmaf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Kind is what a track carries.
type Kind string

const (
	Video Kind = "video"
	Audio Kind = "audio"
	Text  Kind = "text" // a WebVTT file, carried as it is
)

// MaxSamples bounds the samples of one track (about 11 hours of 60 fps
// video), so that a hostile sample table costs bounded memory: a sample
// takes 32 bytes here.
const MaxSamples = 1 << 22

// ErrMedia is matched by every error about a source file's content: a
// box that does not parse, a sample table that does not add up, a codec
// that cannot be described in a manifest.
var ErrMedia = errors.New("cmaf: unusable media")

// Track is one elementary stream of a source MP4 (progressive or
// fragmented), or a WebVTT file, as packaging sees it.
type Track struct {
	// File is the source file's path in the asset; ID the track's ID in it.
	File string
	ID   uint32
	Kind Kind
	// Lang is an ISO 639-2 or BCP 47 tag, "" when unknown.
	Lang string
	// Codecs is the RFC 6381 codec string ("avc1.64001f", "mp4a.40.2").
	Codecs string
	// Timescale is the media timescale: ticks per second.
	Timescale uint32
	// Width and Height are the display size of a video track.
	Width, Height int
	// Duration is in Timescale ticks, the sum of the samples' durations.
	Duration uint64
	// Size is the sum of the samples' sizes, in bytes.
	Size int64
	// Bitrate is what the asset's .ism declares (0 when it does not).
	Bitrate uint64

	entry      mp4.Box         // the sample entry (avc1, mp4a, …), copied into the init segment
	edits      []mp4.ElstEntry // the source's edit list, in movieScale
	movieScale uint32          // the source's mvhd timescale
	tkhd       [2]float64      // tkhd width and height
	samples    []sample
}

// sample is where one sample is in the source file and when it plays.
type sample struct {
	off  int64
	dts  uint64
	size uint32
	dur  uint32
	cto  int32
	sync bool
}

// Samples is the number of samples of t.
func (t *Track) Samples() int { return len(t.samples) }

// ReadTracks reads the video and audio tracks of the MP4 file r of the
// given size: its moov, and for a fragmented file every moof, never the
// media data. Tracks of other kinds (hint, metadata, timed text) are left
// out.
func ReadTracks(r io.ReaderAt, size int64, file string) (tracks []*Track, err error) {
	defer func() {
		// mp4ff is a parser of outside input; a panic in it is an error in
		// the file, not in us.
		if p := recover(); p != nil {
			tracks, err = nil, fmt.Errorf("%w: %s: %v", ErrMedia, file, p)
		}
	}()
	f, err := mp4.DecodeFile(io.NewSectionReader(r, 0, size), mp4.WithDecodeMode(mp4.DecModeLazyMdat))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMedia, file, err)
	}
	if f.Moov == nil {
		return nil, fmt.Errorf("%w: %s has no moov box", ErrMedia, file)
	}
	var total int64 // the tracks' sample bytes
	for _, trak := range f.Moov.Traks {
		t, err := newTrack(trak, file)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue
		}
		if f.Moov.Mvhd != nil {
			t.movieScale = f.Moov.Mvhd.Timescale
		}
		if f.IsFragmented() {
			err = t.fragmentSamples(f, size)
		} else {
			err = t.tableSamples(trak.Mdia.Minf.Stbl, size)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s track %d: %v", ErrMedia, file, t.ID, err)
		}
		if len(t.samples) == 0 {
			continue // an empty track plays nothing
		}
		// Samples never share bytes: more sample bytes than the file holds
		// are samples placed over each other, which would make a segment
		// (read and held whole) and the package any size at all.
		if total += t.Size; total > size {
			return nil, fmt.Errorf("%w: %s: the samples of its tracks add up to more bytes than the file's %d (they overlap)", ErrMedia, file, size)
		}
		tracks = append(tracks, t)
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: %s has no video or audio samples", ErrMedia, file)
	}
	return tracks, nil
}

// newTrack describes trak, or returns nil for a track that is neither
// video nor audio.
func newTrack(trak *mp4.TrakBox, file string) (*Track, error) {
	if trak.Tkhd == nil || trak.Mdia == nil || trak.Mdia.Mdhd == nil || trak.Mdia.Hdlr == nil ||
		trak.Mdia.Minf == nil || trak.Mdia.Minf.Stbl == nil || trak.Mdia.Minf.Stbl.Stsd == nil {
		return nil, fmt.Errorf("%w: %s: a trak box lacks a mandatory box", ErrMedia, file)
	}
	t := &Track{File: file, ID: trak.Tkhd.TrackID, Timescale: trak.Mdia.Mdhd.Timescale}
	switch trak.Mdia.Hdlr.HandlerType {
	case "vide":
		t.Kind = Video
	case "soun":
		t.Kind = Audio
	default:
		return nil, nil
	}
	if t.Timescale == 0 {
		return nil, fmt.Errorf("%w: %s track %d: timescale 0", ErrMedia, file, t.ID)
	}
	t.Lang = language(trak.Mdia.Mdhd.GetLanguage())
	if trak.Mdia.Elng != nil && language(trak.Mdia.Elng.Language) != "" {
		t.Lang = language(trak.Mdia.Elng.Language)
	}
	t.tkhd = [2]float64{float64(trak.Tkhd.Width) / 65536, float64(trak.Tkhd.Height) / 65536}
	if trak.Edts != nil && len(trak.Edts.Elst) == 1 {
		t.edits = slices.Clone(trak.Edts.Elst[0].Entries)
	}
	stsd := trak.Mdia.Minf.Stbl.Stsd
	if len(stsd.Children) != 1 {
		return nil, fmt.Errorf("%w: %s track %d has %d sample descriptions, want 1", ErrMedia, file, t.ID, len(stsd.Children))
	}
	t.entry = stsd.Children[0]
	var err error
	if t.Codecs, err = codecs(t); err != nil {
		return nil, fmt.Errorf("%w: %s track %d: %v", ErrMedia, file, t.ID, err)
	}
	return t, nil
}

// codecs returns t's RFC 6381 codec string, and sets a video track's size.
func codecs(t *Track) (string, error) {
	switch e := t.entry.(type) {
	case *mp4.VisualSampleEntryBox:
		t.Width, t.Height = int(e.Width), int(e.Height)
		if t.tkhd[0] >= 1 && t.tkhd[1] >= 1 {
			t.Width, t.Height = int(math.Round(t.tkhd[0])), int(math.Round(t.tkhd[1]))
		}
		switch typ := e.Type(); {
		case (typ == "avc1" || typ == "avc3") && e.AvcC != nil:
			c := e.AvcC
			return fmt.Sprintf("%s.%02x%02x%02x", typ, c.AVCProfileIndication, c.ProfileCompatibility, c.AVCLevelIndication), nil
		case (typ == "hvc1" || typ == "hev1") && e.HvcC != nil:
			sps := e.HvcC.GetNalusForType(hevc.NALU_SPS)
			if len(sps) == 0 {
				return "", errors.New("hvcC has no SPS")
			}
			s, err := hevc.ParseSPSNALUnit(sps[0])
			if err != nil {
				return "", fmt.Errorf("HEVC SPS: %v", err)
			}
			return hevc.CodecString(typ, s), nil
		}
		return "", fmt.Errorf("video sample entry %q is not supported (H.264 and HEVC are)", e.Type())
	case *mp4.AudioSampleEntryBox:
		switch typ := e.Type(); typ {
		case "mp4a":
			if e.Esds == nil || e.Esds.DecConfigDescriptor == nil {
				return "", errors.New("mp4a without an esds box")
			}
			d := e.Esds.DecConfigDescriptor
			if d.ObjectType != 0x40 {
				return fmt.Sprintf("mp4a.%02x", d.ObjectType), nil
			}
			aot := 2 // AAC-LC when the config says nothing
			if d.DecSpecificInfo != nil && len(d.DecSpecificInfo.DecConfig) > 0 {
				aot = int(d.DecSpecificInfo.DecConfig[0] >> 3)
			}
			return fmt.Sprintf("mp4a.40.%d", aot), nil
		case "ac-3", "ec-3":
			return typ, nil
		}
		return "", fmt.Errorf("audio sample entry %q is not supported (AAC, AC-3 and E-AC-3 are)", e.Type())
	}
	return "", fmt.Errorf("sample entry %q is not supported", t.entry.Type())
}

// tableSamples reads a progressive track's sample table.
func (t *Track) tableSamples(stbl *mp4.StblBox, fileSize int64) error {
	if stbl.Stts == nil || stbl.Stsc == nil || stbl.Stsz == nil || (stbl.Stco == nil && stbl.Co64 == nil) {
		return errors.New("sample table lacks stts, stsc, stsz or stco")
	}
	n := int(stbl.Stsz.SampleNumber)
	if n > MaxSamples {
		return fmt.Errorf("%d samples, more than %d", n, MaxSamples)
	}
	if stbl.Stsz.SampleUniformSize == 0 && len(stbl.Stsz.SampleSize) != n {
		return fmt.Errorf("stsz lists %d sizes for %d samples", len(stbl.Stsz.SampleSize), n)
	}
	t.samples = make([]sample, n)
	// Decode times.
	i := 0
	var dts uint64
	for e, count := range stbl.Stts.SampleCount {
		for range count {
			if i == n {
				return errors.New("stts describes more samples than stsz")
			}
			t.samples[i].dts, t.samples[i].dur = dts, stbl.Stts.SampleTimeDelta[e]
			dts += uint64(stbl.Stts.SampleTimeDelta[e])
			i++
		}
	}
	if i != n {
		return fmt.Errorf("stts describes %d samples, stsz %d", i, n)
	}
	// Composition offsets.
	if c := stbl.Ctts; c != nil {
		// EndSampleNr[e+1] is the last sample (from 1) of entry e.
		i = 0
		for e, off := range c.SampleOffset {
			if e+1 >= len(c.EndSampleNr) {
				break
			}
			for ; i < int(min(c.EndSampleNr[e+1], uint32(n))); i++ {
				t.samples[i].cto = off
			}
		}
	}
	// Sync samples: all of them without an stss.
	if stbl.Stss == nil {
		for i := range t.samples {
			t.samples[i].sync = true
		}
	} else {
		for _, nr := range stbl.Stss.SampleNumber {
			if nr == 0 || int(nr) > n {
				return fmt.Errorf("stss names sample %d of %d", nr, n)
			}
			t.samples[nr-1].sync = true
		}
	}
	// Sizes and offsets, chunk by chunk.
	var chunks []uint64
	if stbl.Co64 != nil {
		chunks = stbl.Co64.ChunkOffset
	} else {
		chunks = make([]uint64, len(stbl.Stco.ChunkOffset))
		for i, o := range stbl.Stco.ChunkOffset {
			chunks[i] = uint64(o)
		}
	}
	entries := stbl.Stsc.Entries
	i = 0
	for e, en := range entries {
		if en.FirstChunk == 0 || (e > 0 && en.FirstChunk <= entries[e-1].FirstChunk) {
			return fmt.Errorf("stsc entry %d starts at chunk %d", e+1, en.FirstChunk)
		}
		last := uint32(len(chunks))
		if e+1 < len(entries) {
			last = min(entries[e+1].FirstChunk-1, last)
		}
		for c := en.FirstChunk; c <= last && i < n; c++ {
			off := chunks[c-1]
			for k := uint32(0); k < en.SamplesPerChunk && i < n; k++ {
				sz := stbl.Stsz.SampleUniformSize
				if sz == 0 {
					sz = stbl.Stsz.SampleSize[i]
				}
				if off+uint64(sz) > uint64(fileSize) {
					return fmt.Errorf("sample %d lies past the end of the file", i+1)
				}
				t.samples[i].off, t.samples[i].size = int64(off), sz
				off += uint64(sz)
				t.Size += int64(sz)
				i++
			}
		}
	}
	if i != n {
		return fmt.Errorf("stsc and stco place %d of %d samples", i, n)
	}
	t.Duration = dts
	return nil
}

// fragmentSamples reads a fragmented track's samples from every moof.
func (t *Track) fragmentSamples(f *mp4.File, fileSize int64) error {
	var trex *mp4.TrexBox
	if f.Moov.Mvex != nil {
		for _, x := range f.Moov.Mvex.Trexs {
			if x.TrackID == t.ID {
				trex = x
			}
		}
	}
	if trex == nil {
		trex = &mp4.TrexBox{TrackID: t.ID}
	}
	var dts uint64
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			if frag.Moof == nil {
				continue
			}
			for _, traf := range frag.Moof.Trafs {
				if traf.Tfhd == nil || traf.Tfhd.TrackID != t.ID {
					continue
				}
				if traf.Tfdt != nil {
					dts = traf.Tfdt.BaseMediaDecodeTime()
				}
				base := int64(frag.Moof.StartPos)
				if traf.Tfhd.HasBaseDataOffset() {
					base = int64(traf.Tfhd.BaseDataOffset)
				}
				for _, trun := range traf.Truns {
					trun.AddSampleDefaultValues(traf.Tfhd, trex)
					off := base + int64(trun.DataOffset)
					for _, s := range trun.Samples {
						if len(t.samples) == MaxSamples {
							return fmt.Errorf("more than %d samples", MaxSamples)
						}
						if off < 0 || off+int64(s.Size) > fileSize {
							return fmt.Errorf("a sample of the moof at %d lies outside the file", frag.Moof.StartPos)
						}
						t.samples = append(t.samples, sample{off: off, dts: dts, size: s.Size, dur: s.Dur,
							cto: s.CompositionTimeOffset, sync: mp4.IsSyncSampleFlags(s.Flags) || t.Kind == Audio})
						off += int64(s.Size)
						dts += uint64(s.Dur)
						t.Size += int64(s.Size)
					}
				}
			}
		}
	}
	if len(t.samples) > 0 {
		t.Duration = dts - t.samples[0].dts
	}
	return nil
}
