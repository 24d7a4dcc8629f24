// Command amscrypt does the client-side cryptography of Azure Media Services
// v2 storage encryption, and gets storage-encrypted assets back after the
// service's retirement: certificate thumbprints (thumbprint), content keys
// (keygen, unwrap, rewrap, checksum), files (encrypt, decrypt), blobs
// through SAS URLs (upload, download), and whole assets from their key
// exports (restore, one or a sharded batch; serve, by byte range over HTTP
// and as HLS and DASH; package, into static CMAF HLS and DASH; manifest, the
// exports merged into one file). Each command parses its
// flags, calls the library and prints the result.
//
// Every command prints at most one JSON document or one value on standard
// output, so that it can be piped; diagnostics go to standard error as one
// line, and any failure exits non-zero without leaving a partial file.
// Secrets never come from flags that take a key value, except checksum's
// --key, which warns: key files and the AMSCRYPT_PFX_PASSWORD variable carry
// them instead.
package main

import "github.com/amscrypt/amscrypt/internal/cli"

// commands are every command of the one amscrypt binary.
var commands = []cli.Command{
	{Name: "thumbprint", Summary: "print a certificate's thumbprint (ProtectionKeyId)", Run: runThumbprint},
	{Name: "checksum", Summary: "print a content key's checksum", Run: runChecksum},
	{Name: "keygen", Summary: "create a content key, wrap it, write the key file, print the ContentKey entity", Run: runKeygen},
	{Name: "unwrap", Summary: "unwrap a ContentKey entity with a private key into a key file", Run: runUnwrap},
	{Name: "rewrap", Summary: "wrap an existing content key to a new protection certificate", Run: runRewrap},
	{Name: "encrypt", Summary: "encrypt a file and print the AssetFile MERGE body", Run: runEncrypt},
	{Name: "decrypt", Summary: "decrypt a storage-encrypted file or byte range", Run: runDecrypt},
	{Name: "upload", Summary: "encrypt a file and upload it through a SAS locator; prints the AssetFile", Run: runUpload},
	{Name: "download", Summary: "download an encrypted blob, or a byte range of it, and decrypt it", Run: runDownload},
	{Name: "restore", Summary: "decrypt a storage-encrypted asset from its key exports, verified, resumable", Run: runRestore},
	{Name: "serve", Summary: "serve an asset's plaintext over HTTP by byte range, without restoring it", Run: runServe},
	{Name: "package", Summary: "package an asset straight from its ciphertext into CMAF HLS and DASH", Run: runPackage},
	{Name: "inventory", Summary: "classify an account's containers, pair key exports with them, write a batch and a report", Run: runInventory},
	{Name: "manifest", Summary: "merge an asset's key exports into one decryption manifest (0600)", Run: runManifest},
}

func main() { cli.Main("amscrypt", commands) }

// run runs one command line in e and returns its exit status (for tests).
func run(e *cli.Env, args []string) int { return cli.Run(e, commands, args) }
