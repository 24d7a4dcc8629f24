// Package jsonstrict refuses JSON that encoding/json would accept but read
// ambiguously. encoding/json keeps the last of two members with the same
// name, so {"Key":"a","Key":"b"} silently means "b"; a key file, an entity or
// a manifest like that is refused here instead, naming the member. Decode is
// the one strict decoder of the documents this module defines.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Decode decodes data, which must be exactly one JSON value, into v (a
// pointer to a struct), refusing a member that v has no field for and one
// named twice in any case (CheckFold): a document this module defines means
// one thing or is refused.
func Decode(data []byte, v any) error {
	if err := CheckFold(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Redact(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// Redact returns err without the document's bytes that encoding/json quotes
// in it: a syntax error names the character where parsing stopped, and a
// type error a number's digits, either of which may be a byte of a key in a
// key file, a key export or a raw key mistaken for JSON. What is left names
// the offset, the field and the kinds; other errors are returned unchanged.
func Redact(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at offset %d", max(se.Offset-1, 0))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		kind, _, _ := strings.Cut(te.Value, " ")
		if te.Field != "" {
			return fmt.Errorf("member %s at offset %d: a JSON %s, want %s", te.Field, te.Offset, kind, te.Type)
		}
		return fmt.Errorf("a JSON %s at offset %d, want %s", kind, te.Offset, te.Type)
	}
	return err
}

// ErrDuplicate is wrapped by the error Check returns for a repeated member.
var ErrDuplicate = errors.New("duplicate JSON member")

// maxDepth bounds the nesting Check follows; encoding/json refuses deeper
// documents anyway (it stops at 10000).
const maxDepth = 10000

// Check reports the first object member, at any depth, whose name appears
// twice in the same object, as ErrDuplicate with the member's path
// ("$.value[2].Name"). Names are compared as encoding/json does for exact
// matches; syntax errors are left to the caller's decoder and return nil.
func Check(data []byte) error { return check(data, false) }

// CheckFold is Check for documents decoded into Go structs, where
// encoding/json matches member names case-insensitively: {"Key":…,"key":…}
// sets one field twice, so names that differ only in case count as the same.
func CheckFold(data []byte) error { return check(data, true) }

func check(data []byte, fold bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		names map[string]bool // nil for an array
		path  string          // the path of the object or array
		index int             // the next element's index, in an array
		key   bool            // an object's next token is a member name
		at    string          // the path of the member being read, in an object
	}
	var stack []*frame
	top := func() *frame {
		if len(stack) == 0 {
			return nil
		}
		return stack[len(stack)-1]
	}
	// done marks the end of a value inside the current container.
	done := func() {
		if t := top(); t != nil && t.names != nil {
			t.key = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or a syntax error the caller reports
		}
		t := top()
		if t != nil && t.names != nil && t.key {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				done()
				continue
			}
			name, _ := tok.(string)
			seen := name
			if fold {
				seen = strings.ToLower(strings.ToUpper(name))
			}
			if t.names[seen] {
				return fmt.Errorf("%w %s", ErrDuplicate, member(t.path, name))
			}
			t.names[seen] = true
			t.key, t.at = false, member(t.path, name)
			continue
		}
		if t != nil && t.names == nil && tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		path := "$"
		switch {
		case t != nil && t.names == nil:
			path = t.path + "[" + strconv.Itoa(t.index) + "]"
			t.index++
		case t != nil:
			path = t.at
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= maxDepth {
				return nil
			}
			stack = append(stack, &frame{names: map[string]bool{}, path: path, key: true})
		case json.Delim('['):
			if len(stack) >= maxDepth {
				return nil
			}
			stack = append(stack, &frame{path: path})
		default:
			done()
		}
	}
}

// member renders the path of member name in the object at path.
func member(path, name string) string {
	if name != "" && !strings.ContainsAny(name, ".[]\"\\ ") && strconv.Quote(name) == `"`+name+`"` {
		return path + "." + name
	}
	return path + "[" + strconv.Quote(name) + "]"
}
