package keyexport

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// The v2 REST API answered in Atom XML (OData v2) before JSON light, and the
// v2 .NET SDK asked for it: an AssetFile or ContentKey <entry>, or a <feed>
// of them, each entity's fields in <m:properties> as <d:Name>value</d:Name>.
// Each entity is turned into the object its JSON form would be and read by
// the same code (parseAssetFile, parseContentKey).

const (
	nsAtom = "http://www.w3.org/2005/Atom"
	nsData = "http://schemas.microsoft.com/ado/2007/08/dataservices"
	nsMeta = nsData + "/metadata"
)

// Bounds on what an Atom document may hold; real ones are far inside them.
const (
	maxAtomDepth      = 32
	maxAtomProperties = 256
)

// atomTypes are the m:type of the properties parseAssetFile and
// parseContentKey read ("" is Edm.String). A property without m:type is read
// as its text, which envelope takes for any of these types; any other type
// on one of them is refused. Properties not listed may have any type.
var atomTypes = map[string]string{
	"Id": "", "Name": "", "ParentAssetId": "", "MimeType": "",
	"EncryptionScheme": "", "EncryptionVersion": "", "EncryptionKeyId": "", "InitializationVector": "",
	"ContentFileSize": "Edm.Int64", "IsEncrypted": "Edm.Boolean", "IsPrimary": "Edm.Boolean",
	"Created": "Edm.DateTime", "LastModified": "Edm.DateTime",
	"ContentKeyType": "Edm.Int32", "ProtectionKeyType": "Edm.Int32",
	"EncryptedContentKey": "", "ProtectionKeyId": "", "Checksum": "",
}

// atomReader walks an Atom document with encoding/xml's streaming decoder.
type atomReader struct {
	doc      string
	dec      *xml.Decoder
	entities []object
}

// errorf formats an error about the document at the decoder's position.
func (r *atomReader) errorf(format string, args ...any) error {
	line, col := r.dec.InputPos()
	return docError(r.doc, ErrInvalidDocument, "Atom XML, line %d column %d: "+format, append([]any{line, col}, args...)...)
}

// token returns the next token, refusing DTDs, and io.EOF at the end.
func (r *atomReader) token() (xml.Token, error) {
	tok, err := r.dec.Token()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return nil, docError(r.doc, ErrInvalidDocument, "not valid XML, line %d: %s", se.Line, se.Msg)
		}
		return nil, r.errorf("%v", err)
	}
	if _, ok := tok.(xml.Directive); ok {
		return nil, r.errorf("a <!…> directive (DTD) is not read")
	}
	return tok, nil
}

// parseAtom reads an Atom entry or feed of AssetFiles or ContentKeys, or the
// answer of a service operation (<RebindContentKey>…</RebindContentKey>).
func parseAtom(doc string, data []byte, opts *Options) (part, error) {
	r := &atomReader{doc: doc, dec: xml.NewDecoder(bytes.NewReader(data))}
	r.dec.Strict = true
	var root xml.StartElement
	for root.Name.Local == "" {
		tok, err := r.token()
		if err == io.EOF {
			return part{}, docError(doc, ErrInvalidDocument, "Atom XML: no root element")
		}
		if err != nil {
			return part{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			root = t.Copy()
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return part{}, r.errorf("text before the root element")
			}
		}
	}
	switch root.Name {
	case xml.Name{Space: nsAtom, Local: "feed"}:
		if err := r.feed(); err != nil {
			return part{}, err
		}
	case xml.Name{Space: nsAtom, Local: "entry"}:
		if err := r.entry(); err != nil {
			return part{}, err
		}
	case xml.Name{Space: nsData, Local: "RebindContentKey"}, xml.Name{Space: nsData, Local: "GetProtectionKeyId"},
		xml.Name{Space: nsData, Local: "GetProtectionKey"}:
		text, err := r.text(root.Name.Local)
		if err != nil {
			return part{}, err
		}
		v, _ := json.Marshal(text)
		switch root.Name.Local {
		case "GetProtectionKeyId":
			return part{}, &notExportError{doc, thumbprintAnswer + ", not a key export"}
		case "GetProtectionKey":
			return part{}, &notExportError{doc, certificateAnswer + ", not a key export"}
		}
		defer clear(v)
		return parseRebind(doc, object{"RebindContentKey": v})
	default:
		return part{}, docError(doc, errUnknownDocument, "Atom XML: root element <%s> in namespace %s is not an Atom entry or feed",
			quote.Input(root.Name.Local), quote.Input(root.Name.Space))
	}
	if err := r.end(); err != nil {
		return part{}, err
	}
	var p part
	for i, o := range r.entities {
		where := fmt.Sprintf("entry %d", i)
		q, err := atomEntity(doc, o, where, opts)
		if err != nil {
			return part{}, err
		}
		if err := p.add(doc, q); err != nil {
			return part{}, err
		}
	}
	return p, nil
}

// atomEntity reads the properties of one entry as the JSON entity they are.
func atomEntity(doc string, o object, where string, opts *Options) (part, error) {
	switch {
	case o.has("EncryptedContentKey"):
		data, err := json.Marshal(o)
		if err != nil {
			return part{}, docError(doc, ErrInvalidDocument, "%s: %v", where, err)
		}
		defer clear(data)
		return parseContentKey(doc, data, where+": ", opts)
	case isAssetFile(o):
		e, id, parent, err := parseAssetFile(doc, o, where)
		if err != nil {
			return part{}, err
		}
		p := part{entries: []Entry{e}, keyIDs: []sightedID{{id, e.Name}}}
		return p, p.setParent(doc, e.Name, parent)
	}
	if what := notExport(o); what != "" {
		return part{}, &notExportError{doc, "an Atom " + strings.TrimPrefix(strings.TrimPrefix(what, "a "), "an ") + ", not a key export"}
	}
	return part{}, docError(doc, errUnknownDocument, "Atom XML %s: properties %s", where, memberNames(o))
}

// end reads what follows the root element: only white space, comments and
// processing instructions.
func (r *atomReader) end() error {
	for {
		tok, err := r.token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return r.errorf("element <%s> after the root element", quote.Input(t.Name.Local))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return r.errorf("text after the root element")
			}
		}
	}
}

// feed reads the children of <feed>: its entries; other children (id,
// title, links, m:count) are skipped.
func (r *atomReader) feed() error {
	return r.children(1, func(t xml.StartElement) error {
		if t.Name == (xml.Name{Space: nsAtom, Local: "entry"}) {
			return r.entry()
		}
		return r.skip(2)
	})
}

// entry reads the children of <entry> up to its end: the properties, in
// <content type="application/xml"> or (for a media link entry) directly
// inside the entry.
func (r *atomReader) entry() error {
	var props object
	read := func(t xml.StartElement) error {
		if props != nil {
			return r.errorf("an entry with two m:properties")
		}
		var err error
		props, err = r.properties()
		return err
	}
	err := r.children(2, func(t xml.StartElement) error {
		switch t.Name {
		case xml.Name{Space: nsMeta, Local: "properties"}:
			return read(t)
		case xml.Name{Space: nsAtom, Local: "content"}:
			typ := attr(t, "", "type")
			return r.children(3, func(c xml.StartElement) error {
				if c.Name != (xml.Name{Space: nsMeta, Local: "properties"}) {
					return r.skip(4)
				}
				if typ != "application/xml" {
					return r.errorf("m:properties in content of type %s, want application/xml", quote.Input(typ))
				}
				return read(c)
			})
		}
		return r.skip(3)
	})
	if err != nil {
		return err
	}
	if props == nil {
		return r.errorf("entry %d has no m:properties", len(r.entities))
	}
	r.entities = append(r.entities, props)
	return nil
}

// properties reads <m:properties> up to its end into an object holding each
// property as its OData JSON value.
func (r *atomReader) properties() (object, error) {
	o := object{}
	err := r.children(5, func(t xml.StartElement) error {
		name := t.Name.Local
		if t.Name.Space != nsData {
			return r.errorf("element <%s> in m:properties is not in the dataservices namespace", quote.Input(name))
		}
		if _, ok := o[name]; ok {
			return r.errorf("property %s appears twice", quote.Input(name))
		}
		if len(o) == maxAtomProperties {
			return r.errorf("more than %d properties in one entry", maxAtomProperties)
		}
		v, err := r.property(t)
		if err != nil {
			return err
		}
		o[name] = v
		return nil
	})
	return o, err
}

// property reads one property element up to its end as its JSON value:
// null for m:null="true", a boolean for Edm.Boolean, a string otherwise
// (Int64 travels as a string in OData JSON; envelope reads integers either
// way).
func (r *atomReader) property(t xml.StartElement) (json.RawMessage, error) {
	name := t.Name.Local
	typ := attr(t, nsMeta, "type")
	if want, known := atomTypes[name]; known && typ != "" && typ != want && !(want == "" && typ == "Edm.String") {
		w := want
		if w == "" {
			w = "Edm.String"
		}
		return nil, r.errorf("property %s has m:type %s; want %s", name, quote.Input(typ), w)
	}
	null := attr(t, nsMeta, "null")
	if null != "" && null != "true" && null != "false" {
		return nil, r.errorf("property %s has m:null %s; want true or false", quote.Input(name), quote.Input(null))
	}
	text, err := r.text(name)
	if err != nil {
		return nil, err
	}
	switch {
	case null == "true":
		if text != "" {
			return nil, r.errorf("property %s is m:null but holds text", quote.Input(name))
		}
		return json.RawMessage("null"), nil
	case typ == "Edm.Boolean":
		if text != "true" && text != "false" {
			return nil, r.errorf("property %s: Edm.Boolean %s is not true or false", quote.Input(name), quote.Input(text))
		}
		return json.RawMessage(text), nil
	}
	v, err := json.Marshal(text)
	if err != nil {
		return nil, r.errorf("property %s: %v", quote.Input(name), err)
	}
	return v, nil
}

// text reads the text of the element just started up to its end; an
// element inside it is an error.
func (r *atomReader) text(name string) (string, error) {
	var b strings.Builder
	for {
		tok, err := r.token()
		if err == io.EOF {
			return "", r.errorf("property %s is not closed", quote.Input(name))
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", r.errorf("property %s holds an element <%s>; want text", quote.Input(name), quote.Input(t.Name.Local))
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// children calls fn for each child element of the element just started at
// depth, up to that element's end; fn must consume the child up to its end.
// Text between children is ignored.
func (r *atomReader) children(depth int, fn func(xml.StartElement) error) error {
	if depth > maxAtomDepth {
		return r.errorf("elements nested deeper than %d", maxAtomDepth)
	}
	for {
		tok, err := r.token()
		if err == io.EOF {
			return r.errorf("unexpected end of the document")
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// skip consumes the element just started at depth, and all it holds.
func (r *atomReader) skip(depth int) error {
	return r.children(depth, func(xml.StartElement) error { return r.skip(depth + 1) })
}

// attr returns the value of t's attribute space:local, or "".
func attr(t xml.StartElement, space, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
