package inventory

import (
	"context"
	"crypto/rsa"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyexport"
)

// Class is what a container holds.
type Class string

// The classes of a container.
const (
	// ClassKeyFound: storage-encrypted, and the key exports decrypt it
	// (Container.Pairing); it is in the batch.
	ClassKeyFound Class = "encrypted-key-found"
	// ClassNoKey: files of an asset's formats that do not decode as
	// stored, and no export (or only an ambiguous one) decrypts them.
	ClassNoKey Class = "encrypted-no-key"
	// ClassClear: its files already decode as their formats: not
	// storage-encrypted, nothing to decrypt (copy it as it is).
	ClassClear Class = "clear"
	// ClassLiveArchive: a live archive's layout (TRACK/header and fragblobs
	// named by time); in the batch when an export decrypts it (Pairing).
	ClassLiveArchive Class = "live-archive"
	// ClassNotAsset: empty, or no file of a format a Media Services asset
	// holds.
	ClassNotAsset Class = "not-an-asset"
	// ClassUnreadable: listing it or reading a head failed; Reason holds
	// the storage error (without the SAS).
	ClassUnreadable Class = "unreadable"
)

// Classes lists every class, in the order reports show them.
var Classes = []Class{ClassKeyFound, ClassLiveArchive, ClassNoKey, ClassClear, ClassNotAsset, ClassUnreadable}

// How says how an export was paired with a container.
type How string

// The ways a pairing is made. Either way the export's key decrypted a head
// of the container to its format, unless Pairing.Verified is false.
const (
	// HowAssetID: the export names the asset (keyexport.Plan.AssetID),
	// whose container is "asset-<guid>".
	HowAssetID How = "asset-id"
	// HowTrial: the export names no asset, and this is the one container
	// that holds every file it names and whose head its key decrypts.
	HowTrial How = "trial"
)

// Pairing is the key exports of one container and how they were found.
type Pairing struct {
	// Keys are the export files, as found under the paths given to Run.
	Keys []string `json:"keys"`
	How  How      `json:"how"`
	// Detail says what matched, for each export.
	Detail []string `json:"detail"`
	// Verified is false when no file of the container had a format whose
	// head can be checked: paired by asset id only.
	Verified bool `json:"verified"`
	// Missing counts the files the exports name that the container lacks;
	// Unmatched the files of the container that no export names.
	Missing   int `json:"missing,omitempty"`
	Unmatched int `json:"unmatched,omitempty"`
}

// Container is one container of the account and its class.
type Container struct {
	Name  string `json:"name"`
	Class Class  `json:"class"`
	// Files and Bytes count its blobs (or files) as listed.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Pairing is set for a container in the batch.
	Pairing *Pairing `json:"pairing,omitempty"`
	// Reason says why it has its class.
	Reason string `json:"reason,omitempty"`
	// Attention lists what a person should look at before migrating it.
	Attention []string `json:"attention,omitempty"`
}

// NeedsAttention reports whether the container is not simply restored or
// skipped: no key, unreadable, or a pairing or class with notes.
func (c Container) NeedsAttention() bool {
	return len(c.Attention) > 0 || c.Class == ClassNoKey || c.Class == ClassUnreadable ||
		(c.Class == ClassLiveArchive && c.Pairing == nil)
}

// Total counts the containers of one class.
type Total struct {
	Containers int   `json:"containers"`
	Files      int   `json:"files"`
	Bytes      int64 `json:"bytes"`
}

// Inventory is the outcome of Run.
type Inventory struct {
	// Containers are sorted by name.
	Containers []Container `json:"containers"`
	// Exports are the key export files, sorted by path.
	Exports []Export `json:"exports"`
	// Totals count the containers per class.
	Totals map[Class]Total `json:"totals"`
	// ToMove counts the containers in the batch and their bytes.
	ToMove Total `json:"toMove"`
}

// Options tune Run.
type Options struct {
	// PrivateKey opens ContentKey entities among the exports.
	PrivateKey *rsa.PrivateKey
	// Workers is the number of containers read at once; 0 means
	// DefaultWorkers.
	Workers int
	// Progress, if set, is called from one goroutine at a time as
	// containers are done.
	Progress func(done, total int)
}

// DefaultWorkers is the number of containers in flight when
// Options.Workers is 0: each costs a listing and a ranged read, so the
// time is latency and the memory one listing each.
const DefaultWorkers = 16

// MaxWorkers bounds Options.Workers.
const MaxWorkers = 256

// fit is one export that decrypts one container.
type fit struct {
	export             int
	byID, verified     bool
	detail             string
	missing, unmatched int
}

// scan is what reading one container found.
type scan struct {
	c     Container
	fits  []fit
	paths []string // kept only for a container several exports fit
	reads int
}

type run struct {
	acct        Account
	priv        *rsa.PrivateKey
	exports     []*Export
	byContainer map[string][]int // exports whose asset id names the container
	anchors     map[string][]int
}

// Run lists every container of acct, reads the key exports at keys (files,
// and directories read recursively; a file that is not a usable export is
// reported, not an error), and classifies and pairs them. Each container
// costs one listing and at most one ranged read of media.HeadSize bytes
// per file tried (one, unless exports name different files), however many
// exports are tried on it. Memory holds the exports and one listing per
// worker. The error is for the run as a whole: the account's listing, a
// key path that does not exist, a cancelled context, or storage that gave
// up (an Account with a GaveUp method, as azblobcrypt.Account has).
func Run(ctx context.Context, acct Account, keys []string, opts *Options) (*Inventory, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Workers == 0:
		o.Workers = DefaultWorkers
	case o.Workers < 0 || o.Workers > MaxWorkers:
		return nil, fmt.Errorf("inventory: %w: Workers %d is not 0 to %d", blobcrypt.ErrInvalidOptions, o.Workers, MaxWorkers)
	}
	paths, err := exportFiles(keys)
	if err != nil {
		return nil, err
	}
	r := &run{acct: acct, priv: o.PrivateKey, exports: make([]*Export, len(paths)), byContainer: map[string][]int{}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for i, p := range paths {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			r.exports[i] = readExport(p, o.PrivateKey)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.exports = mergeDirectories(r.exports, o.PrivateKey)
	names, err := acct.Containers(ctx)
	if err != nil {
		return nil, err
	}
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	for i, e := range r.exports {
		if e.plan != nil && have[e.assetDir] {
			e.idHome = e.assetDir
			r.byContainer[e.assetDir] = append(r.byContainer[e.assetDir], i)
		}
	}
	// An export whose container is in the account is tried there only.
	r.anchors = anchors(r.exports, func(e *Export) bool { return e.idHome != "" })

	scans := make([]scan, len(names))
	var mu sync.Mutex
	done := 0
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for i, name := range names {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			scans[i].c.Name = name
			r.scan(gctx, &scans[i])
			if err := gctx.Err(); err != nil {
				return err
			}
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(names))
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if g, ok := acct.(interface{ GaveUp() error }); ok {
		if err := g.GaveUp(); err != nil {
			return nil, fmt.Errorf("%w; the inventory is incomplete, run it again", err)
		}
	}
	return r.resolve(scans), nil
}

// scan lists one container, tells whether it is in the clear, and tries on
// it the exports that may fit.
func (r *run) scan(ctx context.Context, s *scan) {
	c := &s.c
	src, err := r.acct.Container(c.Name)
	if err != nil {
		c.Class, c.Reason = ClassUnreadable, redact(err.Error())
		return
	}
	files, err := src.List(ctx)
	if err != nil {
		c.Class, c.Reason = ClassUnreadable, "listing: "+redact(err.Error())
		return
	}
	c.Files = len(files)
	paths := make([]string, 0, len(files))
	names := make(map[string]bool, len(files))
	for _, f := range files {
		c.Bytes += f.Size
		paths = append(paths, f.Path)
		names[f.Path] = true
		for i := len(f.Path) - 1; i > 0; i-- {
			if f.Path[i] == '/' {
				names[f.Path[:i]] = true
			}
		}
	}
	if len(files) == 0 {
		c.Class, c.Reason = ClassNotAsset, "the container is empty"
		return
	}
	tracks := liveTracks(paths)
	ranked := rankFiles(files, tracks)
	h := &heads{ctx: ctx, src: src}
	defer func() { s.reads = h.reads }()
	stored := ""
	if len(ranked) > 0 {
		best := ranked[0]
		raw, err := h.get(best.f)
		if err != nil {
			c.Class, c.Reason = ClassUnreadable, redact(err.Error())
			return
		}
		if checkPlain(best.format, raw, best.f.Size) == nil {
			c.Class = ClassClear
			c.Reason = fmt.Sprintf("%s is %s as stored: not storage-encrypted, nothing to decrypt", best.f.Path, best.format)
			if len(tracks) > 0 {
				c.Reason += " (a live archive in the clear)"
			}
			return
		}
		stored = fmt.Sprintf("%s is not %s as stored: storage-encrypted", best.f.Path, best.format)
	}

	// The exports naming this asset, then those anchored at one of its
	// names, in the order of the names: an export is anchored once, and
	// never when it names an asset of the account, so none comes twice.
	tries := 0
	try := func(e int, byID bool) bool {
		if tries++; tries%1024 == 0 && ctx.Err() != nil {
			return false
		}
		if err := r.try(s, h, e, byID, paths, names, ranked); err != nil {
			c.Class, c.Reason = ClassUnreadable, redact(err.Error())
			return false
		}
		return true
	}
	for _, e := range r.byContainer[c.Name] {
		if !try(e, true) {
			return
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		for _, e := range r.anchors[n] {
			if !try(e, false) {
				return
			}
		}
	}
	if len(s.fits) > 1 {
		s.paths = paths
	}
	switch {
	case len(tracks) > 0:
		c.Class = ClassLiveArchive
		c.Reason = fmt.Sprintf("live archive: %d tracks of fragblobs", len(tracks))
		if stored != "" {
			c.Reason += "; " + stored
		}
	case len(s.fits) > 0:
		c.Class, c.Reason = ClassKeyFound, stored
	case len(ranked) > 0:
		c.Class, c.Reason = ClassNoKey, stored
	default:
		c.Class = ClassNotAsset
		c.Reason = "no file of a format a Media Services asset holds (media, manifests, images, text tracks)"
	}
}

// try tries export e on the container: every name it gives must be in the
// container (unless it names the container's asset), and its key must
// decrypt the head of the strongest of those files to its format.
func (r *run) try(s *scan, h *heads, ei int, byID bool, paths []string, names map[string]bool, ranked []testFile) error {
	e := r.exports[ei]
	if !byID {
		for _, en := range e.plan.Entries {
			if !names[en.Name] {
				return nil
			}
		}
	}
	var test *testFile
	var entry *keyexport.Entry
	for i := range ranked {
		en, frag := e.entryFor(ranked[i].f.Path)
		if en == nil {
			continue
		}
		if !frag && en.Size >= 0 && en.Size != ranked[i].f.Size {
			if !byID {
				return nil // another asset's file of the same name
			}
			continue
		}
		test, entry = &ranked[i], en
		break
	}
	named := ""
	if byID {
		from, _, _ := strings.Cut(e.plan.AssetIDSource, " in ") // the document is e itself
		named = fmt.Sprintf("its %s names asset %s", from, e.AssetID)
	}
	if test == nil {
		if byID {
			m := e.plan.Match(paths)
			s.fits = append(s.fits, fit{export: ei, byID: true, missing: len(m.Missing), unmatched: len(m.Unmatched),
				detail: named + "; not verified: no file it names has a format whose head can be checked"})
		}
		return nil
	}
	raw, err := h.get(test.f)
	if err != nil {
		return err
	}
	if !byID && e.block != nil {
		var first [16]byte
		if quickReject(test.format, firstBlock(&first, raw, e.block, entry.IV)) {
			return nil
		}
	}
	plain, err := decryptHead(raw, e.plan.Key, entry.IV)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if err := checkPlain(test.format, plain, test.f.Size); err != nil {
		if byID {
			s.c.Attention = append(s.c.Attention, fmt.Sprintf("%s (%s) does not decrypt %s: %v", e.Path, named, test.f.Path, err))
		}
		return nil
	}
	how := fmt.Sprintf("all %d names it gives are in the container", len(e.plan.Entries))
	if byID {
		how = named
	}
	m := e.plan.Match(paths)
	s.fits = append(s.fits, fit{export: ei, byID: byID, verified: true, missing: len(m.Missing), unmatched: len(m.Unmatched),
		detail: fmt.Sprintf("%s: %s; its key decrypts the head of %s to %s", e.Path, how, test.f.Path, test.format)})
	return nil
}

// resolve pairs each export with the one container it fits (by asset id,
// or by trial when it fits exactly one), and fills in the report.
func (r *run) resolve(scans []scan) *Inventory {
	type ref struct {
		c int
		f *fit
	}
	byExport := make([][]ref, len(r.exports))
	for ci := range scans {
		for fi := range scans[ci].fits {
			f := &scans[ci].fits[fi]
			byExport[f.export] = append(byExport[f.export], ref{ci, f})
		}
	}
	paired := make([][]*fit, len(scans))
	for ei, e := range r.exports {
		if e.plan == nil {
			continue
		}
		var id, trial []ref
		for _, rf := range byExport[ei] {
			if rf.f.byID {
				id = append(id, rf)
			} else {
				trial = append(trial, rf)
			}
		}
		switch {
		case len(id) > 0:
			e.Status, e.Containers = ExportPaired, []string{scans[id[0].c].c.Name}
			paired[id[0].c] = append(paired[id[0].c], id[0].f)
		case len(trial) == 1:
			e.Status, e.Containers = ExportPaired, []string{scans[trial[0].c].c.Name}
			paired[trial[0].c] = append(paired[trial[0].c], trial[0].f)
		case len(trial) > 1:
			e.Status = ExportAmbiguous
			for _, rf := range trial {
				e.Containers = append(e.Containers, scans[rf.c].c.Name)
			}
			e.Reason = fmt.Sprintf("fits %d containers (%s): not used for any", len(trial), listNames(e.Containers))
			for _, rf := range trial {
				c := &scans[rf.c].c
				others := "1 other"
				if len(trial) > 2 {
					others = fmt.Sprintf("%d others", len(trial)-1)
				}
				c.Attention = append(c.Attention, fmt.Sprintf("%s fits this container and %s: ambiguous, not used", e.Path, others))
			}
		default:
			e.Status = ExportUnpaired
			switch {
			case e.idHome != "":
				e.Reason = fmt.Sprintf("names asset %s, but its key does not decrypt container %s", e.AssetID, e.idHome)
			case e.assetDir != "":
				e.Reason = fmt.Sprintf("names asset %s, whose container %s is not in the account; no other container fits it", e.AssetID, e.assetDir)
			default:
				e.Reason = fmt.Sprintf("no container holds all %d files it names with a head its key decrypts", len(e.plan.Entries))
			}
		}
	}

	inv := &Inventory{Totals: map[Class]Total{}}
	for ci := range scans {
		s := &scans[ci]
		c := &s.c
		if fits := paired[ci]; len(fits) > 0 {
			r.pair(s, fits)
		} else if c.Class == ClassKeyFound {
			c.Class = ClassNoKey
			c.Reason += "; the only exports that fit it fit other containers too"
		}
		if c.Class == ClassLiveArchive && c.Pairing == nil {
			c.Attention = append(c.Attention, "no export decrypts this live archive")
		}
		t := inv.Totals[c.Class]
		t.Containers++
		t.Files += c.Files
		t.Bytes += c.Bytes
		inv.Totals[c.Class] = t
		if c.Pairing != nil {
			inv.ToMove.Containers++
			inv.ToMove.Files += c.Files
			inv.ToMove.Bytes += c.Bytes
		}
		inv.Containers = append(inv.Containers, *c)
	}
	for _, e := range r.exports {
		inv.Exports = append(inv.Exports, *e)
	}
	slices.SortFunc(inv.Exports, func(a, b Export) int { return strings.Compare(a.Path, b.Path) })
	return inv
}

// pair makes the pairing of a container from the exports paired with it;
// several must merge into one plan, as restore will merge them.
func (r *run) pair(s *scan, fits []*fit) {
	c := &s.c
	p := &Pairing{How: HowTrial, Verified: true, Missing: fits[0].missing, Unmatched: fits[0].unmatched}
	for _, f := range fits {
		p.Keys = append(p.Keys, r.exports[f.export].Paths()...)
		p.Detail = append(p.Detail, f.detail)
		if f.byID {
			p.How = HowAssetID
		}
		p.Verified = p.Verified && f.verified
	}
	if len(fits) > 1 {
		plan, err := mergePlans(p.Keys, r.priv)
		if err != nil {
			c.Class = ClassNoKey
			c.Attention = append(c.Attention, fmt.Sprintf("%d exports fit it but do not merge: %s", len(fits), quote.OneLine(err.Error())))
			for _, f := range fits {
				e := r.exports[f.export]
				e.Status, e.Reason = ExportUnpaired, "fits "+c.Name+" with other exports it disagrees with"
			}
			return
		}
		m := plan.Match(s.paths)
		p.Missing, p.Unmatched = len(m.Missing), len(m.Unmatched)
	}
	if c.Class != ClassLiveArchive {
		c.Class = ClassKeyFound
	}
	c.Pairing = p
	if !p.Verified {
		c.Attention = append(c.Attention, "paired by asset id only: no file's head could be checked")
	}
	if p.Missing > 0 {
		c.Attention = append(c.Attention, fmt.Sprintf("%d files the exports name are not in the container (restore reports them missing)", p.Missing))
	}
	if p.Unmatched > 0 {
		c.Attention = append(c.Attention, fmt.Sprintf("%d files no export names (restore reports them unmatched; --copy-unmatched copies them)", p.Unmatched))
	}
}

// mergePlans reads the export files again and merges them as restore will.
func mergePlans(paths []string, priv *rsa.PrivateKey) (*keyexport.Plan, error) {
	docs := make([]keyexport.Document, 0, len(paths))
	defer func() {
		for _, d := range docs {
			clear(d.Data)
		}
	}()
	for _, p := range paths {
		data, err := smallfile.Read(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, keyexport.Document{Name: p, Data: data})
	}
	return keyexport.NewPlan(docs, &keyexport.Options{PrivateKey: priv})
}

func listNames(names []string) string {
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// sasQuery matches the query of a URL in a message: where a SAS would be.
var sasQuery = regexp.MustCompile(`(https?://[^\s?#"']*)[?#][^\s"']*`)

// redact drops the query of every URL in a message and keeps it on one
// line: storage errors of this project carry none, but a Source from
// elsewhere might.
func redact(s string) string { return quote.OneLine(sasQuery.ReplaceAllString(s, "$1")) }
