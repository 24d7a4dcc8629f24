// Package azuritetest gives tests a container in Azurite, the Azure Storage
// emulator, and container SAS URLs for it. Only the test set-up uses the
// (public) development account key; the code under test sees SAS URLs only.
package azuritetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
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

// NewContainer creates a container with a random name.
func NewContainer(t testing.TB) *Container {
	t.Helper()
	ep := Endpoint(t)
	var b [6]byte
	rand.Read(b[:])
	name := "t" + hex.EncodeToString(b[:])
	cred, err := container.NewSharedKeyCredential(AccountName, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	u := ep + "/" + name
	c, err := container.NewClientWithSharedKeyCredential(u, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("creating container in Azurite at %s: %v", ep, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.Delete(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted) {
			t.Logf("deleting container %s: %v", name, err)
		}
	})
	return &Container{Name: name, URL: u, cred: cred, client: c}
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
