package inventory

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyexport"
)

// ExportStatus is what became of one key export file.
type ExportStatus string

// The statuses of an Export.
const (
	// ExportPaired: the export decrypts exactly one container, and is in
	// that container's Pairing.
	ExportPaired ExportStatus = "paired"
	// ExportAmbiguous: it fits several containers; none was chosen.
	ExportAmbiguous ExportStatus = "ambiguous"
	// ExportUnpaired: it fits no container of the account.
	ExportUnpaired ExportStatus = "unpaired"
	// ExportUnusable: the file is not a key export, or not one that can
	// decrypt an asset on its own (no key, no file names, a conflict
	// inside it, a ContentKey without --pfx); Reason says which.
	ExportUnusable ExportStatus = "unusable"
)

// Export is one key export file and what became of it.
type Export struct {
	// Path is the file as found under the paths given to Run.
	Path   string       `json:"path"`
	Status ExportStatus `json:"status"`
	// AssetID is the asset the export names itself (keyexport.Plan.AssetID).
	AssetID string `json:"assetId,omitempty"`
	// Files is the number of files (or live-archive tracks) it names.
	Files int `json:"files,omitempty"`
	// Containers are the container it is paired with, or those it fits.
	Containers []string `json:"containers,omitempty"`
	// Reason says why it is unusable, ambiguous or unpaired.
	Reason string `json:"reason,omitempty"`
	// Also are the files merged with Path into one plan: exports that
	// decrypt only together (a v2 Files listing, which holds no key, and
	// its key file, ContentKey or RebindContentKey answer), found in the
	// same directory.
	Also []string `json:"also,omitempty"`

	plan     *keyexport.Plan
	partial  error // matches keyexport.ErrIncomplete: may decrypt with others
	byName   map[string]*keyexport.Entry
	block    cipher.Block // the key's, for the first block of a head
	idHome   string       // the container its AssetID names, if the account has it
	assetDir string       // "asset-<guid>" of AssetID, or ""
}

// exportFiles returns every regular file under paths (files, or
// directories read recursively), each once, in order.
func exportFiles(paths []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("inventory: key exports: %w", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("inventory: key exports: %w", err)
		}
		slices.Sort(found)
		for _, f := range found {
			add(f)
		}
	}
	return files, nil
}

// readExport reads one file as a plan of its own. A file that is not an
// export, or cannot decrypt alone, is an Export with status unusable.
func readExport(path string, priv *rsa.PrivateKey) *Export {
	e := &Export{Path: path}
	data, err := smallfile.Read(path)
	if err != nil {
		e.Status, e.Reason = ExportUnusable, quote.OneLine(err.Error())
		return e
	}
	defer clear(data)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: path, Data: data}}, &keyexport.Options{PrivateKey: priv})
	switch {
	case errors.Is(err, keyexport.ErrIncomplete):
		// A Files listing without its key, or a key without file names.
		e.Status, e.partial = ExportUnusable, err
		e.Reason = "cannot decrypt alone (" + quote.OneLine(err.Error()) + "), and the exports in its directory do not complete it: put it beside the one that does"
	case !json.Valid(data) && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")):
		e.Status, e.Reason = ExportUnusable, "not a key export: "+quote.OneLine(err.Error())
	case err != nil:
		e.Status, e.Reason = ExportUnusable, quote.OneLine(err.Error())
	default:
		e.setPlan(plan)
	}
	return e
}

// setPlan makes e a usable export of plan.
func (e *Export) setPlan(plan *keyexport.Plan) {
	e.Status, e.Reason, e.partial = "", "", nil
	e.plan = plan
	e.AssetID = plan.AssetID
	e.Files = len(plan.Entries)
	if raw := plan.Key.Bytes(); len(raw) > 0 {
		e.block, _ = aes.NewCipher(raw) // a StorageEncryption key: 32 bytes
		clear(raw)
	}
	e.byName = make(map[string]*keyexport.Entry, len(plan.Entries))
	for i := range plan.Entries {
		e.byName[plan.Entries[i].Name] = &plan.Entries[i]
	}
	if g, ok := strings.CutPrefix(plan.AssetID, "nb:cid:UUID:"); ok {
		e.assetDir = "asset-" + g
	}
}

// Paths returns the export's files: Path, then Also.
func (e *Export) Paths() []string { return append([]string{e.Path}, e.Also...) }

// mergeDirectories merges, in each directory, the exports that cannot
// decrypt alone (one names files but holds no key, another holds the key
// but names no file) into one, when together they make a plan: a v2
// export is a Files listing beside its ContentKey or key file. Exports
// merged into another are dropped from the list; the first keeps them in
// Also.
func mergeDirectories(exports []*Export, priv *rsa.PrivateKey) []*Export {
	byDir := map[string][]*Export{}
	var dirs []string
	for _, e := range exports {
		if e.partial != nil {
			d := filepath.Dir(e.Path)
			if byDir[d] == nil {
				dirs = append(dirs, d)
			}
			byDir[d] = append(byDir[d], e)
		}
	}
	merged := map[*Export]bool{}
	for _, d := range dirs {
		group := byDir[d]
		if len(group) < 2 {
			continue
		}
		paths := make([]string, len(group))
		for i, e := range group {
			paths[i] = e.Path
		}
		plan, err := mergePlans(paths, priv)
		if err != nil {
			for _, e := range group {
				e.Reason = "cannot decrypt alone, and does not merge with the exports beside it: " + quote.OneLine(err.Error())
			}
			continue
		}
		group[0].setPlan(plan)
		for _, e := range group[1:] {
			group[0].Also = append(group[0].Also, e.Path)
			merged[e] = true
		}
	}
	if len(merged) == 0 {
		return exports
	}
	kept := exports[:0]
	for _, e := range exports {
		if !merged[e] {
			kept = append(kept, e)
		}
	}
	return kept
}

// entryFor returns the entry of the export that decrypts path: the entry of
// that name, or the live-archive track whose name is the longest
// '/'-prefix of path (fragment true).
func (e *Export) entryFor(path string) (entry *keyexport.Entry, fragment bool) {
	if en := e.byName[path]; en != nil {
		return en, false
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' && i < len(path)-1 {
			if en := e.byName[path[:i]]; en != nil {
				return en, true
			}
		}
	}
	return nil, false
}

// anchors indexes the usable exports by one of their names each, the one
// fewest exports share, so that a container's paths find the exports that
// may fit it without trying every export.
func anchors(exports []*Export, skip func(*Export) bool) map[string][]int {
	count := map[string]int{}
	for _, e := range exports {
		if e.plan != nil && !skip(e) {
			for n := range e.byName {
				count[n]++
			}
		}
	}
	idx := map[string][]int{}
	for i, e := range exports {
		if e.plan == nil || skip(e) {
			continue
		}
		best := ""
		for _, en := range e.plan.Entries {
			if best == "" || count[en.Name] < count[best] {
				best = en.Name
			}
		}
		idx[best] = append(idx[best], i)
	}
	return idx
}

// oneLine keeps a message on one line.
