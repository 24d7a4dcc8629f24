package envelope

import (
	"encoding/json"
)

// HTTP methods of the REST API. MERGE is OData's partial update.
const (
	MethodGet   = "GET"
	MethodPost  = "POST"
	MethodMerge = "MERGE"
)

// Request is one REST call: its method, its path relative to the account's
// API base URI (e.g. "/Files('nb%3Acid%3AUUID%3A…')"), and its JSON body, or
// nil for none. Join Path to the base URI by string concatenation: the
// escaped colons (%3A) of OData keys must reach the wire as written, and
// url.Parse keeps them (in URL.RawPath).
type Request struct {
	// Method is MethodGet, MethodPost or MethodMerge.
	Method string
	// Path is relative to the API base URI and already escaped.
	Path string
	// Body is the value to send as JSON, or nil.
	Body any
}

// EncodeBody returns the JSON of Body, or nil when there is no body.
func (r Request) EncodeBody() ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return json.Marshal(r.Body)
}
