package azblobcrypt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/inventory"
)

func TestContainerURL(t *testing.T) {
	for _, tc := range []struct{ account, name, want string }{
		{"https://a.blob.core.windows.net/?sv=1&sig=S", "asset-1", "https://a.blob.core.windows.net/asset-1?sv=1&sig=S"},
		{"https://a.blob.core.windows.net?sv=1", "abc", "https://a.blob.core.windows.net/abc?sv=1"},
		{"http://127.0.0.1:10000/devstoreaccount1?sv=1", "$logs", "http://127.0.0.1:10000/devstoreaccount1/$logs?sv=1"},
	} {
		got, err := azblobcrypt.ContainerURL(tc.account, tc.name)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	for _, name := range []string{"ab", "Asset-1", "a--b", "-ab", "ab-", "a/b", "a?b", strings.Repeat("a", 64), "$other"} {
		_, err := azblobcrypt.ContainerURL("https://a.blob.core.windows.net/?sig=S", name)
		require.ErrorContains(t, err, "not a container name", name)
	}
	_, err := azblobcrypt.ContainerURL("ftp://x/?sig=SECRET", "abc")
	require.ErrorContains(t, err, "not a storage account URL")
	require.NotContains(t, err.Error(), "SECRET")
	_, err = azblobcrypt.NewAccount("not a url?sig=SECRET", nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRET")
}

// An account SAS lists the containers (by prefix), and each opens as a
// restore source under it; inventory runs over the account.
func TestAccountListsContainers(t *testing.T) {
	azuritetest.Endpoint(t)
	var b [4]byte
	rand.Read(b[:])
	prefix := "lc" + hex.EncodeToString(b[:]) + "-"
	for _, n := range []string{"b", "a", "c"} {
		c := azuritetest.NewNamedContainer(t, prefix+n)
		if n == "a" {
			azuritetest.PutFiles(t, c.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), filepath.Join(testvectors.Dir, "restore", "vod", "plain"))
		}
	}
	ctx := context.Background()
	sasURL := azuritetest.AccountSAS(t, azuritetest.AccountReadOnly, time.Now().Add(time.Hour))
	names, err := azblobcrypt.ListContainers(ctx, sasURL, &azblobcrypt.AccountOptions{Prefix: prefix})
	require.NoError(t, err)
	require.Equal(t, []string{prefix + "a", prefix + "b", prefix + "c"}, names)

	acct, err := azblobcrypt.NewAccount(sasURL, &azblobcrypt.AccountOptions{Prefix: prefix})
	require.NoError(t, err)
	require.NotContains(t, acct.String(), "sig=")
	inv, err := inventory.Run(ctx, acct, nil, nil)
	require.NoError(t, err)
	require.Len(t, inv.Containers, 3)
	require.Equal(t, inventory.ClassClear, inv.Containers[0].Class)
	require.Equal(t, 11, inv.Containers[0].Files)
	require.Equal(t, inventory.ClassNotAsset, inv.Containers[1].Class)
	require.NoError(t, acct.GaveUp())

	// A SAS without list: the account listing fails, naming no SAS.
	noList := azuritetest.AccountSAS(t, azuritetest.AccountWriteOnly, time.Now().Add(time.Hour))
	_, err = azblobcrypt.ListContainers(ctx, noList, &azblobcrypt.AccountOptions{Prefix: prefix})
	require.ErrorIs(t, err, azblobcrypt.ErrForbidden)
	require.NotContains(t, err.Error(), "sig=")

	// CreateContainer makes a destination once, and accepts it existing.
	dest := prefix + "new"
	t.Cleanup(func() { azuritetest.DeleteContainer(t, dest) })
	rw := azuritetest.AccountSAS(t, azuritetest.AccountReadWrite, time.Now().Add(time.Hour))
	u, err := azblobcrypt.ContainerURL(rw, dest)
	require.NoError(t, err)
	require.NoError(t, azblobcrypt.CreateContainer(ctx, u, nil))
	require.NoError(t, azblobcrypt.CreateContainer(ctx, u, nil))
	names, err = azblobcrypt.ListContainers(ctx, sasURL, &azblobcrypt.AccountOptions{Prefix: dest})
	require.NoError(t, err)
	require.Equal(t, []string{dest}, names)
}

// An Account is what inventory.Run reads.
var _ inventory.Account = (*azblobcrypt.Account)(nil)
