package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/reason"
)

// Kinds of storage failure, for errors.Is. Every error that came back from
// storage is a *StorageError that matches one of these or none.
var (
	// ErrForbidden: the SAS is invalid, expired, or lacks the permission
	// the operation needs (HTTP 403).
	ErrForbidden = errors.New("azblobcrypt: access denied by storage")
	// ErrNotFound: the container or blob does not exist (HTTP 404).
	ErrNotFound = errors.New("azblobcrypt: not found in storage")
	// ErrBlobChanged: the blob was replaced while it was being read, so
	// the bytes already read and the ones to come belong to different blobs
	// (HTTP 412 on the ETag the reader pinned).
	ErrBlobChanged = errors.New("azblobcrypt: blob changed while being read")
)

// StorageError is a failed storage request, described in one line that says
// what to do about it. Its message carries the blob URL without the SAS
// query, so it can be logged; the SDK's own error, which it wraps, may not.
type StorageError struct {
	// Op is what was being done, e.g. "stage block 3" or "read bytes 0-99".
	Op string
	// URL is the blob or container URL without its query (no SAS).
	URL string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// ErrorCode is the x-ms-error-code storage sent, e.g.
	// "AuthorizationPermissionMismatch", or "".
	ErrorCode string

	kind   error
	err    error
	expiry string // the SAS's se= time when it lies in the past

	gaveUp time.Duration // with ErrGaveUp: how long storage failed every try
	last   string        // with ErrGaveUp: the last failure seen, or ""
}

// Error returns one line: operation, URL, what went wrong and the status.
func (e *StorageError) Error() string {
	u := e.URL
	if strings.ContainsFunc(u, unicode.IsControl) || strings.ContainsRune(u, ' ') {
		u = strconv.Quote(u) // a URL from outside must not break the line
	}
	if e.gaveUp != 0 {
		last := ""
		if e.last != "" {
			last = " (last: " + quote.OneLine(strings.Map(dropControl, e.last)) + ")"
		}
		return fmt.Sprintf("azblobcrypt: %s %s: storage failed every try for %v%s; gave up, run again to resume", e.Op, u, e.gaveUp, last)
	}
	if e.StatusCode == 0 {
		// The SDK's texts span lines (a ResponseError without a response
		// is a framed block); one line is the contract.
		return fmt.Sprintf("azblobcrypt: %s %s: %s", e.Op, u, quote.OneLine(e.err.Error()))
	}
	code := e.ErrorCode
	if code == "" {
		code = "no error code"
	} else if strings.ContainsFunc(code, unicode.IsControl) {
		code = strconv.Quote(code)
	}
	return fmt.Sprintf("azblobcrypt: %s %s: %s (HTTP %d, %s)", e.Op, u, e.hint(), e.StatusCode, code)
}

// Unwrap returns the kind (ErrForbidden, ...) and the SDK's error.
func (e *StorageError) Unwrap() []error {
	switch {
	case e.kind == nil:
		return []error{e.err}
	case e.err == nil:
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

func (e *StorageError) hint() string {
	switch e.StatusCode {
	case 403:
		if e.expiry != "" {
			return "the SAS token expired at " + e.expiry
		}
		switch e.ErrorCode {
		case "AuthenticationFailed":
			return "the SAS token is invalid or has expired"
		case "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch":
			return "the SAS token does not grant the permission this needs (upload needs write, download needs read)"
		case "AuthorizationProtocolMismatch":
			return "the SAS token does not allow this protocol (http or https)"
		case "AuthorizationSourceIPMismatch":
			return "the SAS token does not allow requests from this IP address"
		}
		return "access denied: the SAS token is invalid, expired or lacks permission"
	case 404:
		switch e.ErrorCode {
		case "ContainerNotFound":
			return "the container does not exist (has the locator been deleted?)"
		case "BlobNotFound":
			return "the blob does not exist"
		}
		return "not found"
	case 412:
		return "the blob changed while it was being read"
	case 416:
		return "the range is outside the blob"
	case 500, 503:
		return "storage is busy or failing and the retries ran out; try again later or with less concurrency"
	}
	return "storage refused the request"
}

// dropControl maps control characters, which would break the one line,
// to spaces.
func dropControl(r rune) rune {
	if unicode.IsControl(r) {
		return ' '
	}
	return r
}

// storageError turns an error from the SDK into a *StorageError; context
// errors and nil pass through unchanged.
func storageError(op, blobURL string, err error) error {
	if err == nil {
		return nil
	}
	// A transport error's text (*url.Error) holds the full URL, SAS
	// signature included, whatever its cause: a per-try timeout is a
	// *url.Error that also matches context.DeadlineExceeded. Keep only the
	// cause in the message, first, before any branch can print it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = reason.New(ue.Op+": "+ue.Err.Error(), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("azblobcrypt: %s: %w", op, err)
	}
	e := &StorageError{Op: op, URL: redactURL(blobURL), err: err}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.StatusCode, e.ErrorCode = re.StatusCode, re.ErrorCode
		switch re.StatusCode {
		case 403:
			e.kind = ErrForbidden
			e.expiry = expiredAt(blobURL)
		case 404:
			e.kind = ErrNotFound
		case 412:
			e.kind = ErrBlobChanged
		case 500, 503:
			// Busy or failing to the last try a caller's retry policy
			// allowed (this package's tries go on until GiveUpAfter).
			e.kind = ErrGaveUp
		}
		return e
	}
	return e
}

// expiredAt returns the expiry (se=) of the SAS in u if it has passed, or "".
// Storage's own answer to an expired SAS is a bare 403 that does not always
// say so.
func expiredAt(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	se := p.Query().Get("se")
	t, err := time.Parse(time.RFC3339, se)
	if err != nil || time.Now().Before(t) {
		return ""
	}
	return se
}

// parseURL parses u, which must be an http or https URL with a host; what
// names the kind of URL in the error, which shows no SAS.
func parseURL(u, what string) (*url.URL, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return nil, fmt.Errorf("azblobcrypt: %q is not a %s URL", redactURL(u), what)
	}
	return p, nil
}

// redactURL is quote.URL: u without the secrets a SAS URL carries.
func redactURL(u string) string { return quote.URL(u) }
