// Package inventory surveys a storage account of Media Services assets
// before a migration: it lists every container, classifies it (encrypted
// with a key found, encrypted without one, in the clear, a live archive, not
// an asset, unreadable), and pairs the key exports of a folder with the
// containers they decrypt, by the asset id an export carries or else by
// trial (its file names are all in the container and its key decrypts one
// small file's head to its format). An export that fits two containers, or
// none, is reported, never guessed. The result is written as a batch for
// batch.Run, a JSON inventory and one self-contained HTML report.
//
// It reads containers through restore.Source, so it links no Azure code: a
// caller passes an Account (DirAccount for containers copied to disk;
// azblobcrypt.Account for a storage account). No file it writes holds a
// SAS: a batch line names a container of an account as "@FILE#NAME"
// (End.Ref), which ReadRef resolves given how to make a container's URL.
package inventory
