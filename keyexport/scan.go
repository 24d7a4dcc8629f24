package keyexport

import (
	"encoding/json"
	"iter"
)

// The functions here walk JSON that encoding/json has already found valid,
// returning members and elements as slices of the document rather than
// copies: a v3 export of a million files is read file by file, never held
// twice. On input that is not valid JSON they return short or empty results;
// they never index out of range.

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// valueEnd returns the offset just past the JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' {
		i++
	}
	return i
}

// stringEnd returns the offset just past the JSON string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// members returns the members of the JSON object v, each value a slice of v;
// nil if v is not an object. Of a repeated name the last wins (callers have
// refused repeats with jsonstrict first).
func members(v []byte) object {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil
	}
	o := object{}
	for i = skipSpace(v, i+1); i < len(v) && v[i] == '"'; {
		end := stringEnd(v, i)
		var name string
		if json.Unmarshal(v[i:end], &name) != nil {
			return o
		}
		i = skipSpace(v, end)
		if i >= len(v) || v[i] != ':' {
			return o
		}
		i = skipSpace(v, i+1)
		end = valueEnd(v, i)
		o[name] = v[i:end]
		if i = skipSpace(v, end); i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return o
}

// elements yields the index and value (a slice of v) of each element of the
// JSON array v; nothing if v is not an array.
func elements(v []byte) iter.Seq2[int, json.RawMessage] {
	return func(yield func(int, json.RawMessage) bool) {
		i := skipSpace(v, 0)
		if i >= len(v) || v[i] != '[' {
			return
		}
		for n, i := 0, skipSpace(v, i+1); i < len(v) && v[i] != ']'; n++ {
			end := valueEnd(v, i)
			if end == i || !yield(n, v[i:end]) {
				return
			}
			if i = skipSpace(v, end); i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
	}
}

// firstElement returns the first element of the JSON array v, or nil.
func firstElement(v []byte) json.RawMessage {
	for _, e := range elements(v) {
		return e
	}
	return nil
}
