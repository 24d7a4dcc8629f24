package envelope

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched by every error about a body this package refuses to
// build or to read: an invalid request (a builder's input, a file name, an
// entity id of the wrong kind), an invalid AssetFile or ContentKey entity, an
// invalid response. Whether the input came from the caller or from the
// service, the only thing to do with it is refuse it, so there is one
// sentinel; the message names the entity, the field and what is wrong with
// it ("envelope: invalid AssetFile entity: field InitializationVector: …").
//
// Errors from the other packages are wrapped, not replaced: a bad key id in
// a ContentKey also matches contentkey.ErrInvalidID, a certificate that is
// not the pinned one protection.ErrThumbprintMismatch.
var ErrInvalid = errors.New("envelope: invalid")

// What each message says is invalid. Unexported: callers test ErrInvalid.
var (
	errRequest    = fmt.Errorf("%w request", ErrInvalid)
	errResponse   = fmt.Errorf("%w response", ErrInvalid)
	errAssetFile  = fmt.Errorf("%w AssetFile entity", ErrInvalid)
	errContentKey = fmt.Errorf("%w ContentKey entity", ErrInvalid)
	errFileName   = fmt.Errorf("%w file name", ErrInvalid)
)

// idError is what is wrong with an entity id, "invalid entity id …", without
// the package prefix: the entity and request errors of this package nest it
// after their own ("envelope: invalid request: Locator field AssetId: invalid
// entity id …"), and the exported entity id functions return it behind
// withPrefix. So the prefix is written once by construction.
type idError struct{ msg string }

func idErrorf(format string, args ...any) error {
	return &idError{fmt.Sprintf(format, args...)}
}

func (e *idError) Error() string { return e.msg }
func (e *idError) Unwrap() error { return ErrInvalid }

// withPrefix returns an idError as the exported functions do.
func withPrefix(err error) error { return fmt.Errorf("envelope: %w", err) }
