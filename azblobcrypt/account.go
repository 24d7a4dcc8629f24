package azblobcrypt

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/amscrypt/amscrypt/restore"
)

// Account is a storage account reached through an account SAS URL (the
// blob endpoint with an account SAS: ss=b, srt=sco, sp=rl to list and read
// its containers), as an inventory.Account. Its containers share one retry
// budget: once an operation on any of them gives up, every later one fails
// at once (GaveUp).
type Account struct {
	client *service.Client
	sasURL string
	url    string // without the SAS
	o      AccountOptions
	retry  *retrier
}

// AccountOptions tune an Account: its containers' options (and retry
// budget), and which containers it lists.
type AccountOptions struct {
	ContainerOptions
	// Prefix, if set, lists only the containers whose names start with it
	// ("asset-").
	Prefix string
}

// NewAccount returns the account at sasURL. It sends no request.
func NewAccount(sasURL string, opts *AccountOptions) (*Account, error) {
	var o AccountOptions
	if opts != nil {
		o = *opts
	}
	if _, err := parseURL(sasURL, "storage account"); err != nil {
		return nil, err
	}
	// A container's options are checked now, not at its first use.
	if _, err := NewContainer(sasURL, &o.ContainerOptions); err != nil {
		return nil, err
	}
	r, co, err := newRetrier(o.GiveUpAfter, (*blob.ClientOptions)(o.ClientOptions))
	if err != nil {
		return nil, err
	}
	client, err := service.NewClientWithNoCredential(sasURL, (*service.ClientOptions)(co))
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %s: %w", redactURL(sasURL), err)
	}
	return &Account{client: client, sasURL: sasURL, url: redactURL(sasURL), o: o, retry: r}, nil
}

// String is the account's URL without its SAS.
func (a *Account) String() string { return a.url }

// Containers lists the names of the account's containers (those starting
// with Prefix), in the order storage lists them (by name).
func (a *Account) Containers(ctx context.Context) ([]string, error) {
	var names []string
	lo := &service.ListContainersOptions{}
	if a.o.Prefix != "" {
		lo.Prefix = &a.o.Prefix
	}
	pager := a.client.NewListContainersPager(lo)
	for pager.More() {
		page, err := do(a.retry, ctx, "list containers of", a.url, func(ctx context.Context) (service.ListContainersResponse, error) {
			return pager.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, c := range page.ContainerItems {
			if c != nil && c.Name != nil {
				names = append(names, *c.Name)
			}
		}
	}
	return names, nil
}

// Container returns the container name of the account as a restore.Source
// (a *Container), under the account's retry budget. It sends no request.
func (a *Account) Container(name string) (restore.Source, error) {
	u, err := ContainerURL(a.sasURL, name)
	if err != nil {
		return nil, err
	}
	c, err := NewContainer(u, &a.o.ContainerOptions)
	if err != nil {
		return nil, err
	}
	c.retry = a.retry
	return c, nil
}

// GaveUp returns the error of the first operation on the account or one of
// its containers that storage failed for the whole GiveUpAfter; nil if none
// did.
func (a *Account) GaveUp() error { return a.retry.gaveUpError() }

// ListContainers returns the names of the containers of the account at
// sasURL: NewAccount and Containers.
func ListContainers(ctx context.Context, sasURL string, opts *AccountOptions) ([]string, error) {
	a, err := NewAccount(sasURL, opts)
	if err != nil {
		return nil, err
	}
	return a.Containers(ctx)
}

// ContainerURL returns the URL of the container name in the account at
// accountURL, keeping its query (an account SAS serves every container).
// name must be a container name storage accepts: 3 to 63 lowercase letters,
// digits and single hyphens, starting and ending with a letter or digit, or
// $root, $logs or $web.
func ContainerURL(accountURL, name string) (string, error) {
	if !validContainerName(name) {
		return "", fmt.Errorf("azblobcrypt: %q is not a container name", name)
	}
	u, err := parseURL(accountURL, "storage account")
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func validContainerName(name string) bool {
	switch name {
	case "$root", "$logs", "$web":
		return true
	}
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// CreateContainer creates the container at sasURL (a container URL whose
// SAS grants create on containers, as an account SAS with srt=c and sp=c
// does) unless it exists: a batch restoring into a new account needs its
// destination containers.
func CreateContainer(ctx context.Context, sasURL string, opts *ContainerOptions) error {
	c, err := NewContainer(sasURL, opts)
	if err != nil {
		return err
	}
	_, err = do(c.retry, ctx, "create container", c.url, func(ctx context.Context) (struct{}, error) {
		_, err := c.client.Create(ctx, nil)
		if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return struct{}{}, nil
		}
		return struct{}{}, err
	})
	return err
}
