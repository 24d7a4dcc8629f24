package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/restore"
)

// Account is a storage account: its containers, each read as a
// restore.Source. azblobcrypt.Account is one over blob storage, DirAccount
// one over a directory.
type Account interface {
	// Containers returns the names of every container of the account.
	Containers(ctx context.Context) ([]string, error)
	// Container returns the container name as a source; it sends no
	// request (a listing error belongs to the container, not the account).
	Container(name string) (restore.Source, error)
}

// DirAccount is an account copied to disk (azcopy copy of every container):
// each subdirectory of Root is a container of the same name.
type DirAccount struct {
	Root string
	// Prefix, if set, lists only the containers whose names start with it.
	Prefix string
}

// Containers returns the names of the subdirectories of Root (that start
// with Prefix), sorted. Symbolic links and files directly under Root are no
// containers.
func (d DirAccount) Containers(context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.Root)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), d.Prefix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Container returns the subdirectory name of Root as a restore.Dir.
func (d DirAccount) Container(name string) (restore.Source, error) {
	if !filepath.IsLocal(name) || filepath.Base(name) != name {
		return nil, fmt.Errorf("inventory: container name %q is not a directory name", name)
	}
	return restore.Dir{Root: filepath.Join(d.Root, name)}, nil
}
