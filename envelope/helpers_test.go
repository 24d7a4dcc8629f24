package envelope

import (
	"errors"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

// Ids and values taken from the upload document's examples.
const (
	docAssetID         = "nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1"
	docFileID          = "nb:cid:UUID:f13a0137-0a62-9d4c-b3b9-ca944b5142c5"
	docPolicyID        = "nb:pid:UUID:be0ac48d-af7d-4877-9d60-1805d68bffae"
	docLocatorID       = "nb:lid:UUID:af57bdd8-6751-4e84-b403-f3c140444b54"
	docManifestID      = "nb:mid:UUID:5c77f186-414f-8b48-8231-17f9264e2048"
	docManifestAssetID = "nb:maid:UUID:beed8531-9a03-9043-b1d8-6a6d1044cdda"
	docBulkAssetID     = "nb:cid:UUID:b757929a-5a57-430b-b33e-c05c6cbef02e"
	docLinkAssetID     = "nb:cid:UUID:b3023475-09b4-4647-9d6d-6fc242822e68"
	docKeyID           = "nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510"
	docContentKeyID    = "nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"
	docThumbprint      = "7D9BB04D9D0A4A24800CADBFEF232689E048F69C"
	docIV              = contentkey.IV(397304628502661816)
	docLocatorPath     = "https://storagetestaccount001.blob.core.windows.net/asset-f438649c-313c-46e2-8d68-7d2550288247?sv=2012-02-12&sr=c&si=af57bdd8-6751-4e84-b403-f3c140444b54&sig=fE4btwEfZtVQFeC0Wh3Kwks2OFPQfzl5qTMW5YytiuY%3D&st=2015-02-18T16%3A45%3A53Z&se=2015-02-19T00%3A05%3A53Z"
)

func mustID(t testing.TB, s string) EntityID {
	t.Helper()
	id, err := ParseEntityID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustKeyID(t testing.TB, s string) contentkey.ID {
	t.Helper()
	id, err := contentkey.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// requireOnePrefix fails unless err names this package exactly once: an
// error that wraps another of the package's own must not repeat
// "envelope: ".
func requireOnePrefix(t testing.TB, err error) {
	t.Helper()
	if err != nil && strings.Count(err.Error(), "envelope:") != 1 {
		t.Errorf("error %q does not name the package exactly once", err)
	}
}

// isIDError reports whether err is about an entity id: it holds an idError,
// and so matches ErrInvalid.
func isIDError(err error) bool {
	var e *idError
	return errors.As(err, &e) && errors.Is(err, ErrInvalid)
}

// TestErrInvalid: every kind of error the package returns is ErrInvalid to
// a caller, and reads as "envelope: invalid <what>".
func TestErrInvalid(t *testing.T) {
	for _, kind := range []error{errRequest, errResponse, errAssetFile, errContentKey, errFileName} {
		if !errors.Is(kind, ErrInvalid) || !strings.HasPrefix(kind.Error(), "envelope: invalid ") {
			t.Errorf("%q does not match ErrInvalid", kind)
		}
	}
	_, err := ParseEntityID("nb:cid:UUID:x")
	if !isIDError(err) || !strings.HasPrefix(err.Error(), "envelope: invalid entity id ") {
		t.Errorf("ParseEntityID: %v", err)
	}
	requireOnePrefix(t, err)
}
