package cmaf

import (
	"context"
	"errors"
	"io"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/restore"
)

// FileOf is f as a File whose Close also closes c (what a
// restore.Source's Open returned with the ranges under f).
func FileOf(f *blobcrypt.File, c io.Closer) File { return closing{f, c} }

type closing struct {
	*blobcrypt.File
	c io.Closer
}

func (f closing) Close() error { return errors.Join(f.File.Close(), f.c.Close()) }

// SourceFiles is the Files of an asset that is not storage-encrypted: the
// regular files of src, as they are stored.
func SourceFiles(ctx context.Context, src restore.Source) (Files, error) {
	list, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	s := sourceFiles{src: src, files: map[string]restore.SourceFile{}}
	for _, f := range list {
		if f.Regular {
			s.files[f.Path] = f
		}
	}
	return s, nil
}

type sourceFiles struct {
	src   restore.Source
	files map[string]restore.SourceFile
}

func (s sourceFiles) Names() []string {
	out := make([]string, 0, len(s.files))
	for n := range s.files {
		out = append(out, n)
	}
	return out
}

func (s sourceFiles) Open(ctx context.Context, name string) (File, error) {
	f, ok := s.files[name]
	if !ok {
		return nil, errNotFound
	}
	o, c, err := s.src.Open(ctx, f)
	if err != nil {
		return nil, err
	}
	bf, err := blobcrypt.OpenStored(ctx, o, f.Size)
	if err != nil {
		c.Close()
		return nil, err
	}
	return FileOf(bf, c), nil
}
