// Package blobcrypt implements the file cipher of Azure Media Services v2
// storage encryption (version 1.0): AES-256 in CTR mode over a whole blob,
// with the counter block BE64(iv) || BE64(offset/16), so that any byte range
// can be encrypted or decrypted on its own for ranged downloads, resumed
// uploads and parallel work.
//
// File is the one way the module reads an encrypted file: any byte range,
// sequentially (io.ReadSeeker, for http.ServeContent) or at offsets
// (io.ReaderAt), through a RangeOpener that opens stored ranges of a local
// file (SectionOpener) or of a blob (package azblobcrypt); SaveFile writes
// one, or a range of it, to disk in parallel.
//
// The format has no integrity protection: CTR ciphertext is malleable, and a
// flipped ciphertext bit flips the same plaintext bit without any error here.
// Never reuse a (key, IV) pair; every file, and every re-encryption of a
// file, needs a fresh IV from contentkey.NewIV (EncryptFile draws one).
package blobcrypt
