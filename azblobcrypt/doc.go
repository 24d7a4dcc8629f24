// Package azblobcrypt moves storage-encrypted Media Services files in and out
// of Azure Blob Storage: it encrypts a local file block by block while
// staging the blocks in parallel, resumes an interrupted upload without ever
// reusing an IV over changed plaintext, and reads encrypted blobs back
// through ranged GETs, decrypting any byte range on its own.
//
// It talks to storage only through SAS URLs (the locator Path the service
// hands out, or a blob URL with a SAS query); it never holds an account key.
// Uploads return the same blobcrypt.FileResult as blobcrypt.EncryptFile, and
// downloads place their file as blobcrypt.DecryptFile does: whole or not at
// all.
package azblobcrypt
