package contentkey_test

import (
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8",
		"NB:KID:UUID:316D14D4-B603-4D90-B8DB-0FEDE8AA48F8",
		"316d14d4-b603-4d90-b8db-0fede8aa48f8",
		"nb:kid:UUID:", "", "{316d14d4-b603-4d90-b8db-0fede8aa48f8}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := contentkey.ParseID(s)
		if err != nil {
			return
		}
		back, err := contentkey.ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("%q parsed to %v, which does not round-trip: %v", s, id, err)
		}
		if bare, err := contentkey.ParseID(id.GUID()); err != nil || bare != id {
			t.Fatalf("bare GUID of %q does not round-trip", s)
		}
	})
}
