package keyexport_test

import (
	"testing"

	"github.com/amscrypt/amscrypt/keyexport"
)

// TestMatchTrackAndMimeType: a fragblob belongs to its entry's track and
// takes no MIME type from it; any other file has no track and the entry's
// type.
func TestMatchTrackAndMimeType(t *testing.T) {
	e := &keyexport.Entry{Name: "video=1500000", MimeType: "video/mp4"}
	frag := keyexport.Match{Path: "video=1500000/0", Entry: e, Fragment: true}
	file := keyexport.Match{Path: "video=1500000", Entry: e}
	if frag.Track() != "video=1500000" || frag.MimeType() != "" {
		t.Errorf("fragblob: track %q, type %q", frag.Track(), frag.MimeType())
	}
	if file.Track() != "" || file.MimeType() != "video/mp4" {
		t.Errorf("file: track %q, type %q", file.Track(), file.MimeType())
	}
}
