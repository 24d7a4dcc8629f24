package inventory

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/units"
)

// The files Write places in its directory.
const (
	BatchFile = "batch.jsonl"
	JSONFile  = "inventory.json"
	HTMLFile  = "inventory.html"
)

// Refs names a container's two ends in a batch line: in, where it is read
// (a directory, or a reference to it such as "@in.url#NAME"), and out, where
// it is restored to ("" for none). They must not hold a SAS.
type Refs func(container string) (in, out string)

// Batch returns one line per container with a pairing, in name order (Out
// "" when the inventory has no destination, for restore --batch --check).
// Key paths are made absolute, since batch.Run reads a line's relative paths
// relative to the batch file.
func (inv *Inventory) Batch(refs Refs) ([]batch.Line, error) {
	var lines []batch.Line
	for _, c := range inv.Containers {
		if c.Pairing == nil {
			continue
		}
		in, out := refs(c.Name)
		l := batch.Line{In: in, Out: out}
		for _, k := range c.Pairing.Keys {
			abs, err := filepath.Abs(k)
			if err != nil {
				return nil, fmt.Errorf("inventory: %w", err)
			}
			l.Keys = append(l.Keys, abs)
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// Summary is an Inventory in counts: what a migration has before it.
type Summary struct {
	Containers int `json:"containers"`
	// Batch is the number of lines of the batch (containers paired with
	// their exports).
	Batch  int   `json:"batch"`
	ToMove Total `json:"toMove"`
	// Attention counts the containers that need a person's look
	// (Container.NeedsAttention).
	Attention int                  `json:"attention"`
	Totals    map[Class]Total      `json:"totals"`
	Exports   map[ExportStatus]int `json:"exports"`
}

// Summary counts the inventory.
func (inv *Inventory) Summary() Summary {
	s := Summary{Containers: len(inv.Containers), Batch: inv.ToMove.Containers, ToMove: inv.ToMove,
		Totals: inv.Totals, Exports: map[ExportStatus]int{}}
	for _, c := range inv.Containers {
		if c.NeedsAttention() {
			s.Attention++
		}
	}
	for _, x := range inv.Exports {
		s.Exports[x.Status]++
	}
	return s
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Refs names the ends of each batch line.
	Refs Refs
	// Force replaces the files of an earlier inventory in the directory.
	Force bool
}

// Write creates dir if needed and places in it batch.jsonl (Batch, one
// JSON object a line), inventory.json (the Inventory) and inventory.html
// (a self-contained report: totals, bytes to move, what needs attention,
// a searchable table), each whole. Without Force it refuses, before
// writing anything, a directory that holds any of them.
func (inv *Inventory) Write(dir string, opts WriteOptions) error {
	if opts.Refs == nil {
		return fmt.Errorf("inventory: %w: Write needs Refs", blobcrypt.ErrInvalidOptions)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if !opts.Force {
		for _, f := range []string{BatchFile, JSONFile, HTMLFile} {
			if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
				return fmt.Errorf("inventory: %s already exists; refusing to overwrite it (--force replaces it): %w",
					filepath.Join(dir, f), fs.ErrExist)
			}
		}
	}
	lines, err := inv.Batch(opts.Refs)
	if err != nil {
		return err
	}
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
	}
	doc, err := json.MarshalIndent(inv, "", " ")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	var page bytes.Buffer
	if err := reportTemplate.Execute(&page, newReportData(inv)); err != nil {
		return fmt.Errorf("inventory: report: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{BatchFile, jsonl.Bytes()}, {JSONFile, append(doc, '\n')}, {HTMLFile, page.Bytes()}} {
		if err := place(filepath.Join(dir, f.name), f.data, opts.Force); err != nil {
			return err
		}
	}
	return nil
}

// place writes one output file whole.
func place(path string, data []byte, force bool) error {
	f, err := atomicfile.Create(path, atomicfile.Options{Perm: 0o644, Overwrite: force})
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	defer f.Abort()
	if _, err := f.File().Write(data); err != nil {
		return fmt.Errorf("inventory: writing %s: %w", path, errors.Unwrap(err))
	}
	return f.Commit()
}

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"size": humanSize}).Parse(reportHTML))

// reportData is what the HTML page shows.
type reportData struct {
	*Inventory
	Rows      []classRow
	Attention []Container
	Problems  []Export
}

type classRow struct {
	Class Class
	Total
}

func newReportData(inv *Inventory) reportData {
	d := reportData{Inventory: inv}
	for _, c := range Classes {
		d.Rows = append(d.Rows, classRow{c, inv.Totals[c]})
	}
	for i := range inv.Containers {
		if inv.Containers[i].NeedsAttention() {
			d.Attention = append(d.Attention, inv.Containers[i])
		}
	}
	for _, e := range inv.Exports {
		if e.Status != ExportPaired {
			d.Problems = append(d.Problems, e)
		}
	}
	return d
}

// humanSize is n in binary units.
func humanSize(n int64) string { return units.Bytes(n) }
