// Package media verifies that a decrypted asset file is whole: its head is
// its format (a wrong key or IV fails there), and its structure, from the
// chain of ISO-BMFF boxes to the closing tag of a manifest, ends exactly
// where the file ends, checked while the file streams past or by random
// access reading only box headers and file ends. ContentType names the
// media type an asset file is served with.
package media
