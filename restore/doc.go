// Package restore gets a storage-encrypted asset back: Run decrypts the
// files of a Source (a directory, a blob container) that a keyexport.Plan
// matches into a Sink, checking every decrypted head before any bulk work
// so that a wrong key or IV is caught on the first bytes rather than after
// the last, and every file's whole structure (package media) on the bytes
// it streams, so that a truncated file is never reported whole. With
// RunOptions.Stitch, each live-archive track comes back as one playable
// fragmented MP4 (package livearchive: Asset.Tracks) instead of its
// fragblobs. Package batch runs many assets, one line each, on one shared
// Pool.
package restore
