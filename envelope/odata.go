package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// object is a JSON object read as the service writes entities: OData JSON
// light ({"odata.metadata":…, …}) or verbose ({"d": {…}}).
type object map[string]json.RawMessage

// decodeObject parses data as one JSON object, unwrapping a verbose
// {"d": {…}} envelope. A member named twice in any object of the document
// is refused with an error matching jsonstrict.ErrDuplicate: encoding/json
// would keep the last, and the service or another client may have read the
// first. Names are compared exactly, as the lookups here are.
func decodeObject(data []byte) (object, error) {
	if err := jsonstrict.Check(data); err != nil {
		return nil, err
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if o == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if d, ok := o["d"]; ok && len(o) == 1 {
		var inner object
		if err := json.Unmarshal(d, &inner); err != nil || inner == nil {
			return nil, errors.New(`verbose wrapper "d" does not hold a JSON object`)
		}
		return inner, nil
	}
	return o, nil
}

// value returns the raw value of field name, or nil when it is absent or null.
func (o object) value(name string) json.RawMessage {
	v, ok := o[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	return v
}

// str returns the string field name; ok is false when it is absent or null.
func (o object) str(name string) (s string, ok bool, err error) {
	v := o.value(name)
	if v == nil {
		return "", false, nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fmt.Errorf("field %s: want a string, got %s", name, snippet(v))
	}
	return s, true, nil
}

// requiredStr is str for a field that must be present.
func (o object) requiredStr(name string) (string, error) {
	s, ok, err := o.str(name)
	if err == nil && !ok {
		err = fmt.Errorf("field %s is missing", name)
	}
	return s, err
}

// uint returns the non-negative integer field name, written either as a JSON
// number or as a decimal string (OData JSON puts Int64 in strings); ok is
// false when it is absent or null. Only plain decimal digits are accepted: no
// sign, fraction, exponent or space.
func (o object) uint(name string, max uint64) (n uint64, ok bool, err error) {
	v := o.value(name)
	if v == nil {
		return 0, false, nil
	}
	text := string(bytes.TrimSpace(v))
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, false, fmt.Errorf("field %s: invalid string %s", name, snippet(v))
		}
	}
	n, err = parse.Decimal(text, max)
	if err != nil {
		return 0, false, fmt.Errorf("field %s %s: %v", name, quote.Input(text), err)
	}
	return n, true, nil
}

// boolean returns the Boolean field name, written as a JSON true/false or as
// the string "true"/"false" in any case; ok is false when absent or null.
func (o object) boolean(name string) (b bool, ok bool, err error) {
	v := o.value(name)
	if v == nil {
		return false, false, nil
	}
	if err := json.Unmarshal(v, &b); err == nil {
		return b, true, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		switch {
		case strings.EqualFold(s, "true"):
			return true, true, nil
		case strings.EqualFold(s, "false"):
			return false, true, nil
		}
	}
	return false, false, fmt.Errorf("field %s: want true or false, got %s", name, snippet(v))
}

// snippet renders a raw JSON value for an error message.
func snippet(v json.RawMessage) string {
	s := string(bytes.TrimSpace(v))
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
