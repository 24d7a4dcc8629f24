package livearchive_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

func TestParseManifestFixture(t *testing.T) {
	a := loadArchive(t)
	e := loadExpected(t)
	require.Equal(t, uint64(livearchive.DefaultTimeScale), a.m.TimeScale)
	require.Len(t, a.m.Streams, 4)
	v := a.m.Streams[0]
	require.Equal(t, "video", v.Type)
	require.Equal(t, uint64(10_000_000), v.TimeScale, "the document's timescale")
	require.Equal(t, uint64(48000), a.m.Streams[1].TimeScale, "StreamIndex TimeScale overrides the document's")
	require.Equal(t, "fra", a.m.Streams[2].Language)
	require.Equal(t, "text", a.m.Streams[3].Type)
	require.Equal(t, []livearchive.QualityLevel{{Index: 0, Bitrate: 48000, FourCC: "H264"}}, v.QualityLevels)

	require.Len(t, a.tracks, 4)
	for _, tr := range a.tracks {
		want, ok := e.Tracks[tr.Prefix]
		require.True(t, ok, tr.Prefix)
		require.Equal(t, want.TimeScale, tr.Stream.TimeScale, tr.Prefix)
		var starts []string
		for _, c := range tr.Stream.Timeline {
			starts = append(starts, uitoa(c.Start))
		}
		require.Equal(t, want.Fragments, starts, "%s: the timeline (r expanded, t carried) names the generator's fragments", tr.Prefix)
		require.Equal(t, want.Clock, a.m.Origin(tr.Stream.TimeScale), tr.Prefix)
	}
	require.Equal(t, "vod-fmp4", a.ism.Formats)
	require.Equal(t, "live.ismc", a.ism.ClientManifest)

	// Without the .ism, the prefix is AMS's <Name>=<Bitrate>, which the
	// fixture follows.
	guessed, err := a.m.Tracks(nil)
	require.NoError(t, err)
	for i := range guessed {
		require.Equal(t, a.tracks[i].Prefix, guessed[i].Prefix)
	}
}

func uitoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}

func TestParseManifestTimeline(t *testing.T) {
	m, err := livearchive.ParseManifest(strings.NewReader("\ufeff" + `<?xml version="1.0" encoding="utf-16"?>
<SmoothStreamingMedia TimeScale="1000" IsLive="TRUE">
 <StreamIndex Type="Video" Name="v" Chunks="5"><QualityLevel Bitrate="1"/>
  <c d="10"/><c d="10" r="2"/><c t="100" d="5"/><c d="7"/>
  <Unknown><c t="1" d="1"/></Unknown>
 </StreamIndex>
 <StreamIndex Type="audio" TimeScale="48000"><c t="4800" d="960"/></StreamIndex>
</SmoothStreamingMedia>`))
	require.NoError(t, err)
	require.Equal(t, uint64(1000), m.TimeScale)
	require.Equal(t, "video", m.Streams[0].Type)
	require.Equal(t, []livearchive.Chunk{{0, 10}, {10, 10}, {20, 10}, {100, 5}, {105, 7}}, m.Streams[0].Timeline)
	require.Equal(t, uint64(48000), m.Streams[1].TimeScale)
	require.Equal(t, uint64(0), m.Origin(1000), "video starts at 0")
	require.Equal(t, []livearchive.Chunk{{4800, 960}}, m.Streams[1].Timeline)
}

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`<smil/>`, `root element is "smil"`},
		{``, "no SmoothStreamingMedia"},
		{`<SmoothStreamingMedia TimeScale="0"/>`, "SmoothStreamingMedia TimeScale is 0"},
		{`<SmoothStreamingMedia TimeScale="-1"/>`, `SmoothStreamingMedia TimeScale="-1": '-' at offset 0`},
		{`<SmoothStreamingMedia TimeScale="1" timescale="2"/>`, "repeats attribute"},
		{`<SmoothStreamingMedia><StreamIndex/></SmoothStreamingMedia>`, "StreamIndex has no Type (StreamIndex #1)"},
		{`<SmoothStreamingMedia><StreamIndex Type="data"/></SmoothStreamingMedia>`, `Type "data" is not video`},
		{`<SmoothStreamingMedia><StreamIndex Type="video" Name="v"><c t="5"/></StreamIndex></SmoothStreamingMedia>`, `c has no d (StreamIndex "v", c #1)`},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c d="0"/></StreamIndex></SmoothStreamingMedia>`, "c d is 0"},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c d="1" r="0"/></StreamIndex></SmoothStreamingMedia>`, "c r is 0"},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c d="1 "/></StreamIndex></SmoothStreamingMedia>`, `c d="1 ": ' ' at offset 1`},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c t="10" d="10"/><c t="15" d="1"/></StreamIndex></SmoothStreamingMedia>`, "c t=15 starts before the previous fragment ends (20) (StreamIndex \"\", c #2)"},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c d="1" r="99999999999"/></StreamIndex></SmoothStreamingMedia>`, "longer than"},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><c t="18446744073709551615" d="2"/></StreamIndex></SmoothStreamingMedia>`, "ends past 2^64"},
		{`<SmoothStreamingMedia><StreamIndex Type="video"><QualityLevel/></StreamIndex></SmoothStreamingMedia>`, "QualityLevel has no Bitrate"},
		{`<SmoothStreamingMedia><StreamIndex Type="video">`, "unexpected EOF"},
		{"<SmoothStreamingMedia>" + strings.Repeat("<a>", 100), "nested more than"},
	} {
		_, err := livearchive.ParseManifest(strings.NewReader(tc.doc))
		require.ErrorIs(t, err, livearchive.ErrManifest, tc.doc)
		require.Contains(t, err.Error(), tc.want, tc.doc)
	}
	_, err := livearchive.ParseManifest(strings.NewReader(strings.Repeat(" ", livearchive.MaxManifestSize+1)))
	require.ErrorIs(t, err, livearchive.ErrManifest)
	require.Contains(t, err.Error(), "larger than")
}

func TestServerManifestPairing(t *testing.T) {
	m, err := livearchive.ParseManifest(strings.NewReader(`<SmoothStreamingMedia>
 <StreamIndex Type="video"><QualityLevel Bitrate="100"/><QualityLevel Bitrate="200"/><c d="1"/></StreamIndex>
 <StreamIndex Type="audio" Name="audio_eng"><QualityLevel Bitrate="64"/><c d="1"/></StreamIndex>
</SmoothStreamingMedia>`))
	require.NoError(t, err)
	ism, err := livearchive.ParseServerManifest(strings.NewReader(`<?xml version="1.0"?>
<smil xmlns="http://www.w3.org/2001/SMIL20/Language"><head><meta name="formats" content="vod-cmaf"/></head><body><switch>
 <video src="v_hd" systemBitrate="200"/>
 <video src="v_sd" systemBitrate="100"><param name="trackID" value="2"/></video>
 <audio src="audio_eng=64" systemBitrate="64" SystemLanguage="eng"><param name="trackName" value="audio_eng"/></audio>
</switch></body></smil>`))
	require.NoError(t, err)
	require.Equal(t, "eng", ism.Tracks[2].SystemLanguage, "attribute case varies")
	require.Equal(t, uint64(2), ism.Tracks[1].TrackID)
	trs, err := m.Tracks(ism)
	require.NoError(t, err)
	require.Len(t, trs, 3)
	require.Equal(t, "v_hd", trs[0].Prefix)
	require.Equal(t, 1, trs[0].QualityLevel)
	require.Equal(t, "v_sd", trs[1].Prefix)
	require.Equal(t, 0, trs[1].QualityLevel)
	require.Equal(t, "audio_eng", trs[2].Stream.Name)

	guessed, err := m.Tracks(nil)
	require.NoError(t, err)
	require.Equal(t, "video=100", guessed[0].Prefix)
	require.Equal(t, "audio_eng=64", guessed[2].Prefix)

	for _, tc := range []struct{ ism, want string }{
		{`<smil><body><switch><video src="x" systemBitrate="300"/></switch></body></smil>`, `.ism track "x" (video "video", 300 b/s) has no StreamIndex`},
		{`<smil><body><switch><audio systemBitrate="64"/></switch></body></smil>`, "audio element without src"},
	} {
		sm, err := livearchive.ParseServerManifest(strings.NewReader(tc.ism))
		require.NoError(t, err)
		_, err = m.Tracks(sm)
		require.ErrorIs(t, err, livearchive.ErrManifest)
		require.Contains(t, err.Error(), tc.want)
	}
	_, err = livearchive.ParseServerManifest(strings.NewReader(`<SmoothStreamingMedia/>`))
	require.True(t, errors.Is(err, livearchive.ErrManifest))
	_, err = livearchive.ParseServerManifest(strings.NewReader(`<smil><video src="a"><param name="trackID" value="x"/></video></smil>`))
	require.ErrorContains(t, err, `param trackID="x"`)
}
