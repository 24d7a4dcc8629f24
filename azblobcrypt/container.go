package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/restore"
)

// Metadata names a restored blob carries: the plaintext's SHA-256 and the
// ETag of the encrypted blob it came from.
const (
	MetadataSHA256     = "amscryptsha256"
	MetadataSourceETag = "amscryptsourceetag"
)

// migrateLease is the lease blob Azure's migration tool leaves in a
// container it worked on: not part of the asset.
const migrateLease = "__migrate"

// Container is a blob container reached through a SAS URL, as a
// restore.Source (SAS with list and read) and a restore.Sink (create, write
// and read: what is already there is checked before anything is written).
// It reads with ranged GETs pinned to the ETag seen when listing,
// Workers of them in flight per file, and writes block blobs of BlockSize blocks, Workers staged
// at a time per file; a blob is committed only once all of it is staged, so
// a destination blob is at all times absent, staged but uncommitted, or
// complete.
type Container struct {
	client *container.Client
	url    string // without the SAS
	o      ContainerOptions
	retry  *retrier

	// held lists, once, the blobs the container held when first asked
	// (Existing), so that a destination SAS without read permission works
	// for a first run: only a blob that is there must be read. Blobs this
	// Container commits are added.
	heldOnce sync.Once
	heldMu   sync.Mutex
	held     map[string]bool
	heldErr  error
}

// ContainerOptions tune a Container. The zero value reads and writes
// DefaultBlockSize blocks, DefaultWorkers at a time per file, and gives
// up after DefaultGiveUpAfter of failures.
type ContainerOptions struct {
	BlockSize int64
	Workers   int
	// GiveUpAfter is how long one storage operation may keep failing
	// before it fails with ErrGaveUp, and with it every later operation of
	// the Container; 0 means DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// ClientOptions configure the SDK client. The zero fields of its Retry
	// take this package's defaults (DefaultTryTimeout; back-off from 1 s
	// to 30 s; as many tries as GiveUpAfter allows).
	ClientOptions *container.ClientOptions
}

// NewContainer returns the container at sasURL (a container URL with its SAS
// query). It sends no request.
func NewContainer(sasURL string, opts *ContainerOptions) (*Container, error) {
	var o ContainerOptions
	if opts != nil {
		o = *opts
	}
	if err := transferDefaults(&o.BlockSize, &o.Workers); err != nil {
		return nil, err
	}
	if _, err := parseURL(sasURL, "container"); err != nil {
		return nil, err
	}
	r, co, err := newRetrier(o.GiveUpAfter, (*blob.ClientOptions)(o.ClientOptions))
	if err != nil {
		return nil, err
	}
	client, err := container.NewClientWithNoCredential(sasURL, (*container.ClientOptions)(co))
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %s: %w", redactURL(sasURL), err)
	}
	return &Container{client: client, url: redactURL(sasURL), o: o, retry: r}, nil
}

// GaveUp returns the error of the first operation on the container that
// storage failed for the whole GiveUpAfter, after which every operation
// fails at once; nil if none did.
func (c *Container) GaveUp() error { return c.retry.gaveUpError() }

// String is the container's URL without its SAS.
func (c *Container) String() string { return c.url }

// ReadParallelism is the number of ranged GETs of one blob kept in flight.
func (c *Container) ReadParallelism() int { return c.o.Workers }

// List returns every blob of the container but the migration tool's lease
// blob, with its size and ETag.
func (c *Container) List(ctx context.Context) ([]restore.SourceFile, error) {
	var files []restore.SourceFile
	pager := c.client.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := do(c.retry, ctx, "list blobs of", c.url, func(ctx context.Context) (container.ListBlobsFlatResponse, error) {
			return pager.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || *b.Name == migrateLease {
				continue
			}
			f := restore.SourceFile{Path: *b.Name, Regular: true}
			if p := b.Properties; p != nil {
				if p.ContentLength != nil {
					f.Size = *p.ContentLength
				}
				if p.ETag != nil {
					f.Tag = string(*p.ETag)
				}
				if p.BlobType != nil && *p.BlobType != blob.BlobTypeBlockBlob {
					f.Regular = false // page and append blobs are no asset files
				}
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// Open returns the blob's bytes as stored, read with ranged GETs that fail
// with ErrBlobChanged if the blob is no longer the version listed.
func (c *Container) Open(_ context.Context, f restore.SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	return &blobOpener{client: c.client.NewBlobClient(f.Path), url: c.url + "/" + f.Path, etag: azcore.ETag(f.Tag), size: f.Size, retry: c.retry}, io.NopCloser(nil), nil
}

// Existing returns the committed blob at path, or nil if there is none.
// Whether there is one comes from one listing of the container, made on
// the first call (list permission); only a blob that is there is read, so
// a SAS without read permission works as the destination of a first run,
// and the error of a run resuming with one says what it lacks.
func (c *Container) Existing(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	c.heldOnce.Do(func() {
		files, err := c.List(ctx)
		c.held, c.heldErr = make(map[string]bool, len(files)), err
		for _, f := range files {
			c.held[f.Path] = true
		}
	})
	c.heldMu.Lock()
	there := c.held[path]
	c.heldMu.Unlock()
	if c.heldErr != nil || !there {
		return nil, 0, nil, c.heldErr
	}
	b, err := openBlob(ctx, c.retry, c.client.NewBlobClient(path), c.url+"/"+path)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, 0, nil, nil
		}
		if errors.Is(err, ErrForbidden) {
			err = fmt.Errorf("%w; the destination already holds %s, and a run that resumes must read it to compare: give the destination SAS read permission (sp=r)", err, path)
		}
		return nil, 0, nil, err
	}
	f, err := blobcrypt.OpenStored(ctx, b, b.size)
	if err != nil {
		return nil, 0, nil, err
	}
	return f, b.size, io.NopCloser(nil), nil
}

// Create starts the block blob at path on the package's one uploader
// (blockWriter): written in blocks of BlockSize, Workers staged at a
// time, committed on Commit with the Content-Type and the metadata
// (plaintext SHA-256, source ETag), and nothing committed before. Blocks an
// interrupted run left staged are not staged again.
func (c *Container) Create(ctx context.Context, path string, info restore.OutputInfo) (restore.Output, error) {
	w, err := newBlockWriter(ctx, c.retry, c.client.NewBlockBlobClient(path), c.url+"/"+path, info.Size, c.o.BlockSize, c.o.Workers)
	if err != nil {
		return nil, err
	}
	if info.Source.Tag != "" {
		tag := strings.Trim(info.Source.Tag, `"`)
		w.meta[MetadataSourceETag] = &tag
	}
	if info.MimeType != "" {
		w.headers = &blob.HTTPHeaders{BlobContentType: &info.MimeType}
	}
	w.committed = func() {
		c.heldMu.Lock()
		defer c.heldMu.Unlock()
		if c.held != nil {
			c.held[path] = true
		}
	}
	return w, nil
}
