package azuritetest

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// NewNamedContainer creates the container name (which must not exist yet),
// deleted when the test ends: for tests that need names of a given form,
// such as asset-<guid>.
func NewNamedContainer(t testing.TB, name string) *Container {
	t.Helper()
	ep := Endpoint(t)
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
		t.Fatalf("creating container %s in Azurite at %s: %v", name, ep, err)
	}
	t.Cleanup(func() { DeleteContainer(t, name) })
	return &Container{Name: name, URL: u, cred: cred, client: c}
}

// DeleteContainer deletes the container name if it exists (a destination
// a test's code under test created).
func DeleteContainer(t testing.TB, name string) {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(AccountName, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(Endpoint(t)+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Delete(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted) {
		t.Logf("deleting container %s: %v", name, err)
	}
}

// AccountSAS returns the account URL with an account SAS for the blob
// service granting perms on the service, containers and blobs until
// expiry; it allows http, which Azurite speaks.
func AccountSAS(t testing.TB, perms sas.AccountPermissions, expiry time.Time) string {
	t.Helper()
	ep := Endpoint(t)
	cred, err := container.NewSharedKeyCredential(AccountName, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-5 * time.Minute).UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   perms.String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return ep + "?" + qp.Encode()
}

// AccountReadOnly lists and reads every container of the account.
var AccountReadOnly = sas.AccountPermissions{Read: true, List: true}

// AccountReadWrite also creates containers and writes blobs: a destination.
var AccountReadWrite = sas.AccountPermissions{Read: true, List: true, Create: true, Write: true, Add: true}

// AccountWriteOnly creates and writes but does not list or read.
var AccountWriteOnly = sas.AccountPermissions{Create: true, Write: true, Add: true}
