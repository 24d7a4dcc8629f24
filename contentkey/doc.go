// Package contentkey defines the content keys of Azure Media Services v2: the
// ContentKeyType enumeration, keys whose length is fixed by their type, and
// the "nb:kid:UUID:" key ids with the .NET byte order the service hashes.
//
// A Key never prints, logs or marshals its bytes by accident: the only ways
// to read them are Bytes and the key-file functions in this package.
package contentkey
