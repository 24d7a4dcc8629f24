package envelope

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// AccessPermissions is the Permissions bit set of an AccessPolicy.
type AccessPermissions int

// The AccessPermissions bits.
const (
	// PermissionNone grants nothing.
	PermissionNone AccessPermissions = 0
	// PermissionRead allows reading blobs.
	PermissionRead AccessPermissions = 1
	// PermissionWrite allows writing blobs: what an upload needs.
	PermissionWrite AccessPermissions = 2
	// PermissionDelete allows deleting blobs.
	PermissionDelete AccessPermissions = 4
	// PermissionList allows listing blobs.
	PermissionList AccessPermissions = 8
)

const allPermissions = PermissionRead | PermissionWrite | PermissionDelete | PermissionList

// String returns the set bits' names joined by '|', e.g. "Read|Write".
func (p AccessPermissions) String() string {
	if p == PermissionNone {
		return "None"
	}
	var names []string
	for _, b := range []struct {
		bit  AccessPermissions
		name string
	}{{PermissionRead, "Read"}, {PermissionWrite, "Write"}, {PermissionDelete, "Delete"}, {PermissionList, "List"}} {
		if p&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if rest := p &^ allPermissions; rest != 0 {
		names = append(names, "0x"+strconv.FormatInt(int64(rest), 16))
	}
	return strings.Join(names, "|")
}

// AccessPolicy is the body of POST /AccessPolicies:
//
//	{"Name":"NewUploadPolicy","DurationInMinutes":440,"Permissions":2}
//
// DurationInMinutes (Edm.Double) and Permissions are JSON numbers; the
// document sends them as strings.
type AccessPolicy struct {
	// Name is required.
	Name string
	// DurationInMinutes is required and positive: the service answers 500
	// to a policy without it.
	DurationInMinutes float64
	// Permissions is PermissionWrite for an upload.
	Permissions AccessPermissions
}

// NewAccessPolicy returns the policy named name lasting d (at least a
// second's worth; the service answers 500 to a policy without a duration)
// with permissions p.
func NewAccessPolicy(name string, d time.Duration, p AccessPermissions) (*AccessPolicy, error) {
	a := &AccessPolicy{Name: name, DurationInMinutes: d.Minutes(), Permissions: p}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *AccessPolicy) validate() error {
	if a.Name == "" {
		return fmt.Errorf("%w: AccessPolicy field Name is empty", errRequest)
	}
	if !(a.DurationInMinutes > 0) || math.IsInf(a.DurationInMinutes, 0) {
		return fmt.Errorf("%w: AccessPolicy field DurationInMinutes is required and must be positive (got %v); the service answers 500 without it",
			errRequest, a.DurationInMinutes)
	}
	if a.Permissions&^allPermissions != 0 {
		return fmt.Errorf("%w: AccessPolicy field Permissions %s has unknown bits", errRequest, a.Permissions)
	}
	return nil
}

// Request returns POST /AccessPolicies with a as its body. It refuses a
// policy without a positive DurationInMinutes.
func (a *AccessPolicy) Request() (Request, error) {
	if err := a.validate(); err != nil {
		return Request{}, err
	}
	return Request{Method: MethodPost, Path: "/AccessPolicies", Body: a}, nil
}

// LocatorType is the Type of a Locator.
type LocatorType int

// The locator types.
const (
	// LocatorSAS is a shared access signature URL to the asset's container,
	// the one to upload through.
	LocatorSAS LocatorType = 1
	// LocatorOnDemandOrigin is a streaming origin locator.
	LocatorOnDemandOrigin LocatorType = 2
)

// StartTimeLayout is the time.Format layout of a Locator's StartTime, the
// document's YYYY-MM-DDTHH:mm:ssZ, always in UTC.
const StartTimeLayout = "2006-01-02T15:04:05Z"

// ClockSkew is how far in the past NewSASLocator starts a locator, so that
// the service does not see it as not yet valid.
const ClockSkew = 5 * time.Minute

// Locator is the body of POST /Locators:
//
//	{"AccessPolicyId":"nb:pid:UUID:…","AssetId":"nb:cid:UUID:…","StartTime":"2015-02-18T16:45:53Z","Type":1}
//
// The document's example writes StartTime without the Z its own text
// requires; it is written here in UTC with the Z.
type Locator struct {
	// AccessPolicyID is the policy (nb:pid:) giving duration and permissions.
	AccessPolicyID EntityID
	// AssetID is the asset (nb:cid:) whose container the locator opens.
	AssetID EntityID
	// StartTime is written in UTC to the second; it must be set.
	StartTime time.Time
	// Type is LocatorSAS for an upload.
	Type LocatorType
}

// NewSASLocator returns a SAS locator for asset under policy, starting
// ClockSkew before now (pass time.Now()) and truncated to the second.
func NewSASLocator(policy, asset EntityID, now time.Time) (*Locator, error) {
	l := &Locator{
		AccessPolicyID: policy,
		AssetID:        asset,
		StartTime:      now.Add(-ClockSkew).UTC().Truncate(time.Second),
		Type:           LocatorSAS,
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Locator) validate() error {
	if err := l.AccessPolicyID.check(KindAccessPolicy); err != nil {
		return fmt.Errorf("%w: Locator field AccessPolicyId: %w", errRequest, err)
	}
	if err := l.AssetID.check(KindContent); err != nil {
		return fmt.Errorf("%w: Locator field AssetId: %w", errRequest, err)
	}
	if l.StartTime.IsZero() {
		return fmt.Errorf("%w: Locator field StartTime is not set", errRequest)
	}
	if y := l.StartTime.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%w: Locator field StartTime year %d is out of range", errRequest, y)
	}
	if l.Type != LocatorSAS && l.Type != LocatorOnDemandOrigin {
		return fmt.Errorf("%w: Locator field Type %d is not 1 (SAS) or 2 (OnDemandOrigin)", errRequest, int(l.Type))
	}
	return nil
}

// MarshalJSON writes the body described on Locator.
func (l Locator) MarshalJSON() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		AccessPolicyID EntityID `json:"AccessPolicyId"`
		AssetID        EntityID `json:"AssetId"`
		StartTime      string
		Type           LocatorType
	}{l.AccessPolicyID, l.AssetID, l.StartTime.UTC().Format(StartTimeLayout), l.Type})
}

// Request returns POST /Locators with l as its body.
func (l *Locator) Request() (Request, error) {
	if err := l.validate(); err != nil {
		return Request{}, err
	}
	return Request{Method: MethodPost, Path: "/Locators", Body: l}, nil
}

// UploadURL returns the URL to upload the blob fileName through a SAS
// locator: the locator's Path with "/<fileName>" inserted before the '?' of
// its query (a trailing '/' on the path is not doubled). The name must pass
// ValidateFileName; characters that are legal in it but not in a URL path
// (spaces, non-ASCII) are percent-encoded.
func UploadURL(locatorPath, fileName string) (string, error) {
	if err := ValidateFileName(fileName); err != nil {
		return "", err
	}
	u, err := url.Parse(locatorPath)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
		// The SAS (query) and any user:password never reach an error.
		return "", fmt.Errorf("%w: locator Path %s is not an absolute URL", errRequest, quote.Input(quote.URL(locatorPath)))
	}
	base, query, hasQuery := strings.Cut(locatorPath, "?")
	out := strings.TrimRight(base, "/") + "/" + url.PathEscape(fileName)
	if hasQuery {
		out += "?" + query
	}
	return out, nil
}
