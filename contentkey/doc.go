// Package contentkey defines the wire values under every storage-encrypted
// asset of Azure Media Services v2: the ContentKeyType enumeration, keys
// whose length is fixed by their type, the "nb:kid:UUID:" key ids with the
// .NET byte order the service hashes, and the per-file IV with its strict
// decimal form.
//
// A Key never prints, logs or marshals its bytes by accident: the one way to
// read them is Bytes. Key files, which hold a clear key on disk, are package
// keyfile's.
package contentkey
