// Package azuritetest gives tests a container in Azurite, the Azure Storage
// emulator, and container SAS URLs for it. Only the test set-up uses the
// (public) development account key; the code under test sees SAS URLs only.
package azuritetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/amscrypt/amscrypt/internal/faultproxy"
)

// EndpointEnv names the environment variable holding the Azurite blob
// endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1.
const EndpointEnv = "AZURITE_BLOB_ENDPOINT"

// The well-known Azurite development account. Its key is published in the
// Azurite documentation; it guards nothing.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Endpoint returns the Azurite blob endpoint, or skips the test when the
// environment does not name one.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv(EndpointEnv)
	if ep == "" {
		t.Skip(EndpointEnv + " is not set: this test needs Azurite; run scripts/test-azurite")
	}
	return ep
}

// Container is a fresh container in Azurite, deleted when the test ends.
type Container struct {
	// Name is the container's name.
	Name string
	// URL is the container URL without a query.
	URL    string
	cred   *container.SharedKeyCredential
	client *container.Client
}

// NewContainer creates a container with a random name (NewNamedContainer),
// deleted when the test ends.
func NewContainer(t testing.TB) *Container {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	return NewNamedContainer(t, "t"+hex.EncodeToString(b[:]))
}

// Delete deletes the container now, for tests of a locator whose container
// is gone; its SAS URLs stay well-formed.
func (c *Container) Delete(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.client.Delete(ctx, nil); err != nil {
		t.Fatalf("deleting container %s: %v", c.Name, err)
	}
}

// SAS returns the container URL with a container SAS granting perms until
// expiry: the shape of a Media Services SAS locator's Path. The SAS allows
// http, which Azurite speaks.
func (c *Container) SAS(t testing.TB, perms sas.ContainerPermissions, expiry time.Time) string {
	t.Helper()
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-5 * time.Minute).UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   perms.String(),
		ContainerName: c.Name,
	}.SignWithSharedKey(c.cred)
	if err != nil {
		t.Fatal(err)
	}
	return c.URL + "?" + qp.Encode()
}

// ReadWrite is what an upload locator grants: read, add, create, write and list.
var ReadWrite = sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, List: true}

// WriteOnly grants add, create and write but not read.
var WriteOnly = sas.ContainerPermissions{Add: true, Create: true, Write: true}

// ReadOnly grants read and list only.
var ReadOnly = sas.ContainerPermissions{Read: true, List: true}

// BlobURL returns the URL of blob name in the container of the SAS URL
// containerSAS, SAS query kept.
func BlobURL(containerSAS, name string) string {
	for i := 0; i < len(containerSAS); i++ {
		if containerSAS[i] == '?' {
			return containerSAS[:i] + "/" + name + containerSAS[i:]
		}
	}
	return containerSAS + "/" + name
}

// PutBlocks uploads data as the block blob name in the container of the
// SAS URL sasURL with plain HTTP Put Block requests of blockSize bytes and
// one Put Block List, as a service upload of a large file left it.
func PutBlocks(t testing.TB, sasURL, name string, data []byte, blockSize int) {
	t.Helper()
	u, err := url.Parse(BlobURL(sasURL, name))
	if err != nil {
		t.Fatal(err)
	}
	var list bytes.Buffer
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i := 0; i == 0 || i*blockSize < len(data); i++ {
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%06d", i))
		q := u.Query()
		q.Set("comp", "block")
		q.Set("blockid", id)
		bu := *u
		bu.RawQuery = q.Encode()
		put(t, bu.String(), data[i*blockSize:min(len(data), (i+1)*blockSize)], nil)
		fmt.Fprintf(&list, "<Latest>%s</Latest>", id)
	}
	list.WriteString("</BlockList>")
	q := u.Query()
	q.Set("comp", "blocklist")
	bu := *u
	bu.RawQuery = q.Encode()
	put(t, bu.String(), list.Bytes(), nil)
}

// put sends one plain HTTP PUT and fails the test unless storage answers
// 201 Created.
func put(t testing.TB, u string, body []byte, header http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("x-ms-version", "2021-08-06")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %s: %s", redact(u), resp.Status, b)
	}
}

func redact(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			return u[:i]
		}
	}
	return u
}

// PutFiles uploads every file under dir to the container with plain HTTP
// Put Blob requests (not with amscrypt's code, nor with the SDK), as the
// service's own uploads left them: the source blobs of a restore are made
// by an independent implementation (testdata/restore/gen_restore.py).
func PutFiles(t testing.TB, sasURL, dir string) {
	t.Helper()
	u, err := url.Parse(sasURL)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		bu := *u
		bu.Path = u.Path + "/" + filepath.ToSlash(rel)
		req, err := http.NewRequest(http.MethodPut, bu.String(), bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		req.Header.Set("x-ms-version", "2021-08-06")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("put %s: %s: %s", rel, resp.Status, body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Watch polls a destination container directly (not through any proxy the
// code under test talks to) while a run writes into it, and fails the test
// if the container ever holds a committed blob that is not one of the
// asset's files with its plaintext: every blob must at all times be absent,
// staged but uncommitted, or complete and correct, and nothing else
// (marker, state or lock blobs) may appear.
type Watch struct {
	t      testing.TB
	client *container.Client
	want   map[string]string        // name -> SHA-256 of the plaintext, hex
	seen   map[azcore.ETag]struct{} // blob versions checked
	polls  int
	stop   chan struct{}
	done   chan struct{}
}

// WatchDest starts watching the container of the SAS URL sasURL (which
// must grant list and read) for the files want names.
func WatchDest(t testing.TB, sasURL string, want map[string]string) *Watch {
	t.Helper()
	c, err := container.NewClientWithNoCredential(sasURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &Watch{t: t, client: c, want: want, seen: map[azcore.ETag]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			w.check()
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

// check lists the committed blobs once, verifies the versions not seen
// yet, and returns the names found.
func (w *Watch) check() map[string]bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.polls++
	found := map[string]bool{}
	pager := w.client.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			w.t.Errorf("listing the destination: %v", err)
			return found
		}
		for _, b := range page.Segment.BlobItems {
			name := *b.Name
			found[name] = true
			want, ok := w.want[name]
			if !ok {
				w.t.Errorf("the destination holds %q, which is not a file of the asset", name)
				continue
			}
			if _, ok := w.seen[*b.Properties.ETag]; ok {
				continue
			}
			resp, err := w.client.NewBlobClient(name).DownloadStream(ctx, nil)
			if err != nil {
				continue // replaced since the listing; the next poll sees it
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			if err != nil {
				w.t.Errorf("reading %s: %v", name, err)
				continue
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				w.t.Errorf("committed blob %s (%d bytes) is not the plaintext: SHA-256 %s, want %s", name, n, got, want)
			}
			w.seen[*resp.ETag] = struct{}{}
		}
	}
	return found
}

// Finish stops polling and checks that the container holds every file of
// the asset, correct.
func (w *Watch) Finish() {
	w.t.Helper()
	close(w.stop)
	<-w.done
	found := w.check()
	for name := range w.want {
		if !found[name] {
			w.t.Errorf("%s was not restored", name)
		}
	}
	w.t.Logf("destination checked %d times, %d blob versions verified", w.polls, len(w.seen))
}

// Uncommitted returns the number of blocks staged but not committed for
// the blob name in the container of the SAS URL sasURL.
func Uncommitted(t testing.TB, sasURL, name string) int {
	t.Helper()
	c, err := blockblob.NewClientWithNoCredential(BlobURL(sasURL, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("get block list of %s: %v", name, err)
	}
	return len(resp.UncommittedBlocks)
}

// NewFaultProxy starts a fault-injecting proxy (internal/faultproxy) in
// front of Azurite, closed when the test ends; clients reach Azurite
// through the proxy's Rewrite of their URLs.
func NewFaultProxy(t testing.TB, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(Endpoint(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
