package keyexport

import (
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"

	"github.com/stretchr/testify/require"
)

// matchSummary renders a Matching compactly: path -> entry name with flags.
type matched struct {
	Path, Entry    string
	Fragment, Fold bool
}

func summarize(m Matching) (ms []matched, missing []string, unmatched []string) {
	for _, x := range m.Matches {
		ms = append(ms, matched{x.Path, x.Entry.Name, x.Fragment, x.CaseInsensitive})
	}
	for _, e := range m.Missing {
		missing = append(missing, e.Name)
	}
	return ms, missing, m.Unmatched
}

func planOf(names ...string) *Plan {
	p := &Plan{}
	for i, n := range names {
		p.Entries = append(p.Entries, Entry{Name: n, IV: contentkeyIV(i), Size: -1})
	}
	return p
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name      string
		entries   []string // sorted
		paths     []string
		matches   []matched
		missing   []string
		unmatched []string
	}{
		{"exact", []string{"a.ism", "a.mp4"}, []string{"a.mp4", "a.ism"},
			[]matched{{"a.ism", "a.ism", false, false}, {"a.mp4", "a.mp4", false, false}}, nil, nil},
		{"missing and unmatched", []string{"a.mp4", "b.mp4"}, []string{"a.mp4", "c.mp4", "__migrate"},
			[]matched{{"a.mp4", "a.mp4", false, false}}, []string{"b.mp4"}, []string{"__migrate", "c.mp4"}},
		{"live archive tracks", []string{"audio", "video"}, []string{"video/header", "video/0", "video/20000000", "audio/header", "audio/0", "videos/0"},
			[]matched{{"audio/0", "audio", true, false}, {"audio/header", "audio", true, false},
				{"video/0", "video", true, false}, {"video/20000000", "video", true, false}, {"video/header", "video", true, false}},
			nil, []string{"videos/0"}},
		{"longest track wins, exact beats track", []string{"v", "v/hd", "v/hd/header"}, []string{"v/hd/1", "v/hd/header", "v/x"},
			[]matched{{"v/hd/1", "v/hd", true, false}, {"v/hd/header", "v/hd/header", false, false}, {"v/x", "v", true, false}}, nil, nil},
		{"track entry needs something after the slash", []string{"video"}, []string{"video"},
			[]matched{{"video", "video", false, false}}, nil, nil},
		{"case-insensitive when unambiguous", []string{"BigBuckBunny.MP4", "x.ism"}, []string{"bigbuckbunny.mp4", "x.ism"},
			[]matched{{"bigbuckbunny.mp4", "BigBuckBunny.MP4", false, true}, {"x.ism", "x.ism", false, false}}, nil, nil},
		{"case-insensitive with Unicode folding", []string{"Straße.mp4", "KELVIN.mp4"}, []string{"STRAßE.MP4", "\u212aelvin.mp4"},
			[]matched{{"STRAßE.MP4", "Straße.mp4", false, true}, {"\u212aelvin.mp4", "KELVIN.mp4", false, true}}, nil, nil},
		{"two entries fold together", []string{"A.mp4", "a.mp4"}, []string{"a.MP4"},
			nil, []string{"A.mp4", "a.mp4"}, []string{"a.MP4"}},
		{"two paths fold together", []string{"A.mp4"}, []string{"a.mp4", "a.MP4"},
			nil, []string{"A.mp4"}, []string{"a.MP4", "a.mp4"}},
		{"an exact match takes the fold group", []string{"A.mp4", "a.mp4"}, []string{"a.mp4", "A.MP4"},
			[]matched{{"a.mp4", "a.mp4", false, false}}, []string{"A.mp4"}, []string{"A.MP4"}},
		{"exact entry's path folds with another path", []string{"a.mp4"}, []string{"a.mp4", "A.mp4"},
			[]matched{{"a.mp4", "a.mp4", false, false}}, nil, []string{"A.mp4"}},
		{"no case-insensitive tracks", []string{"Video"}, []string{"video/0"},
			nil, []string{"Video"}, []string{"video/0"}},
		{"unsafe paths never match", []string{"a.mp4", "video"}, []string{"video/../../etc/passwd", "video/a\\b", "/a.mp4", "video//x", "video/\x00"},
			nil, []string{"a.mp4", "video"}, []string{"/a.mp4", "video/\x00", "video/../../etc/passwd", "video//x", "video/a\\b"}},
		{"duplicate paths count once", []string{"a.mp4"}, []string{"a.mp4", "a.mp4"},
			[]matched{{"a.mp4", "a.mp4", false, false}}, nil, nil},
		{"no paths", []string{"a.mp4"}, nil, nil, []string{"a.mp4"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planOf(tt.entries...)
			in := append([]string(nil), tt.paths...)
			ms, missing, unmatched := summarize(p.Match(tt.paths))
			require.Equal(t, tt.matches, ms)
			require.Equal(t, tt.missing, missing)
			require.Equal(t, tt.unmatched, unmatched)
			require.Equal(t, in, tt.paths, "Match must not reorder its argument")
		})
	}
}

func TestMatchEntriesPointIntoPlan(t *testing.T) {
	p := planOf("a.mp4", "b.mp4")
	m := p.Match([]string{"a.mp4"})
	require.Same(t, &p.Entries[0], m.Matches[0].Entry)
	require.Same(t, &p.Entries[1], m.Missing[0])
}

func contentkeyIV(i int) contentkey.IV { return contentkey.IV(i + 1) }

func TestMatchUnicodeNormalization(t *testing.T) {
	const (
		nfc = "Caf\u00e9 cr\u00e8me.mp4"   // composed, as exports usually hold names
		nfd = "Cafe\u0301 cre\u0300me.mp4" // decomposed, as macOS writes them
	)
	tests := []struct {
		name       string
		entries    []string
		paths      []string
		match      string // the path that matched the first entry, "" for none
		ci, normed bool
		ignoring   string
	}{
		{"NFC export, NFD disk", []string{nfc}, []string{nfd}, nfd, false, true, "Unicode normalization"},
		{"NFD export, NFC disk", []string{nfd}, []string{nfc}, nfc, false, true, "Unicode normalization"},
		{"normalization and case", []string{nfc}, []string{"CAFE\u0301 CRE\u0300ME.MP4"}, "CAFE\u0301 CRE\u0300ME.MP4", true, true, "case and Unicode normalization"},
		{"Kelvin sign is canonically K", []string{"K.mp4"}, []string{"\u212a.mp4"}, "\u212a.mp4", false, true, "Unicode normalization"},
		{"ambiguous: both forms on disk", []string{nfc}, []string{nfd, "cafe\u0301 cre\u0300me.mp4"}, "", false, false, ""},
		{"ambiguous: both forms in the export", []string{nfc, nfd}, []string{"CAF\u00c9 CR\u00c8ME.MP4"}, "", false, false, ""},
		{"exact wins", []string{nfc}, []string{nfc, nfd}, nfc, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planOf(tt.entries...)
			m := p.Match(tt.paths)
			var got *Match
			for i := range m.Matches {
				if m.Matches[i].Entry == &p.Entries[0] {
					got = &m.Matches[i]
				}
			}
			if tt.match == "" {
				require.Nil(t, got)
				require.Len(t, m.Unmatched, len(tt.paths))
				return
			}
			require.NotNil(t, got)
			require.Equal(t, tt.match, got.Path)
			require.Equal(t, tt.ci, got.CaseInsensitive)
			require.Equal(t, tt.normed, got.Normalized)
			require.Equal(t, tt.ignoring, got.Ignoring())
		})
	}
}
