package keyexport

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Match is one asset path and the entry that decrypts it.
type Match struct {
	// Path is the asset's file path, relative to its root, '/'-separated.
	Path string
	// Entry is the plan entry whose IV decrypts the file; it points into
	// Plan.Entries.
	Entry *Entry
	// Fragment reports a live-archive fragblob: Path is Entry.Name + "/…",
	// it is decrypted on its own from counter 0 with the track's IV, and
	// Entry.Size does not apply to it.
	Fragment bool
	// CaseInsensitive reports that Path equals Entry.Name only when case is
	// ignored: the one entry and the one path that fold together, neither
	// matched exactly.
	CaseInsensitive bool
	// Normalized reports that Path equals Entry.Name only after Unicode
	// normalization (NFC): a name composed in the export ("é") and
	// decomposed on disk ("e" and a combining accent, as macOS writes it), or
	// the reverse. It is paired under the same rule as CaseInsensitive, and
	// may come with it.
	Normalized bool
}

// Track is the live-archive track whose fragblob the file is (its entry's
// name), or "" for a file that is no fragblob.
func (m *Match) Track() string {
	if !m.Fragment {
		return ""
	}
	return m.Entry.Name
}

// MimeType is the file's MIME type as the plan gives it, or "" for a
// fragblob: its entry's type is its track's, not one fragment's.
func (m *Match) MimeType() string {
	if m.Fragment {
		return ""
	}
	return m.Entry.MimeType
}

// Ignoring says what a match that is not exact ignored ("case", "Unicode
// normalization" or both), and returns "" for an exact match or a fragblob.
func (m *Match) Ignoring() string {
	switch {
	case m.CaseInsensitive && m.Normalized:
		return "case and Unicode normalization"
	case m.CaseInsensitive:
		return "case"
	case m.Normalized:
		return "Unicode normalization"
	}
	return ""
}

// Matching is how an asset's paths and a plan's entries pair up.
type Matching struct {
	// Matches are sorted by Path.
	Matches []Match
	// Missing are the entries that matched no path, sorted by Name.
	Missing []*Entry
	// Unmatched are the paths that no entry decrypts, sorted. Paths that are
	// not safe relative names (see NewPlan) are always unmatched.
	Unmatched []string
}

// Match pairs the asset's file paths with the plan's entries. A path equal
// to an entry's name is that entry's file; a path "TRACK/…" under an entry
// named TRACK is one of that live-archive track's fragblobs (the longest
// such entry name wins). A path and an entry left over that are equal
// ignoring case are paired only when no other entry or path folds to the
// same name. Names that differ only by Unicode normalization (NFC or NFD)
// pair under the same rule. Duplicate paths count once.
func (p *Plan) Match(paths []string) Matching {
	paths = slices.Clone(paths)
	slices.Sort(paths)
	paths = slices.Compact(paths)

	byName := make(map[string]*Entry, len(p.Entries))
	entriesByFold := make(map[string]int, len(p.Entries))
	for i := range p.Entries {
		e := &p.Entries[i]
		byName[e.Name] = e
		entriesByFold[looseKey(e.Name)]++
	}
	pathsByFold := make(map[string]int, len(paths))
	for _, path := range paths {
		if safeName(path) {
			pathsByFold[looseKey(path)]++
		}
	}

	var m Matching
	matched := make(map[*Entry]bool, len(p.Entries))
	var pending []string // safe paths with no case-sensitive match, sorted
	for _, path := range paths {
		if !safeName(path) {
			m.Unmatched = append(m.Unmatched, path)
			continue
		}
		if e := byName[path]; e != nil {
			m.Matches = append(m.Matches, Match{Path: path, Entry: e})
			matched[e] = true
			continue
		}
		if e := trackOf(byName, path); e != nil {
			m.Matches = append(m.Matches, Match{Path: path, Entry: e, Fragment: true})
			matched[e] = true
			continue
		}
		pending = append(pending, path)
	}

	if len(pending) > 0 {
		foldEntry := make(map[string]*Entry)
		for i := range p.Entries {
			e := &p.Entries[i]
			if k := looseKey(e.Name); !matched[e] && entriesByFold[k] == 1 {
				foldEntry[k] = e
			}
		}
		for _, path := range pending {
			k := looseKey(path)
			if e := foldEntry[k]; e != nil && pathsByFold[k] == 1 {
				// Case is what is left once both are normalized; anything
				// else that differs is normalization.
				ci := norm.NFC.String(path) != norm.NFC.String(e.Name)
				nfc := !ci || foldKey(path) != foldKey(e.Name)
				m.Matches = append(m.Matches, Match{Path: path, Entry: e, CaseInsensitive: ci, Normalized: nfc})
				matched[e] = true
				continue
			}
			m.Unmatched = append(m.Unmatched, path)
		}
		slices.SortFunc(m.Matches, func(a, b Match) int { return strings.Compare(a.Path, b.Path) })
		slices.Sort(m.Unmatched)
	}

	for i := range p.Entries {
		if e := &p.Entries[i]; !matched[e] {
			m.Missing = append(m.Missing, e)
		}
	}
	return m
}

// trackOf returns the entry whose name is the longest proper '/'-prefix of
// path, or nil.
func trackOf(byName map[string]*Entry, path string) *Entry {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' && i < len(path)-1 {
			if e := byName[path[:i]]; e != nil {
				return e
			}
		}
	}
	return nil
}

// looseKey maps s to a key that two names share exactly when they are equal
// ignoring case and Unicode normalization.
func looseKey(s string) string { return foldKey(norm.NFC.String(s)) }

// foldKey maps s to a key that two strings share exactly when
// strings.EqualFold holds: every rune becomes the smallest rune of its
// simple case-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		lo := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < lo {
				lo = f
			}
		}
		b.WriteRune(lo)
	}
	return b.String()
}
