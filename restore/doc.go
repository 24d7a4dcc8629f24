// Package restore turns the key exports that survive Media Services' retirement
// (v3 getEncryptionKey responses, v2 Files listings and ContentKeys, Key Vault
// secrets, key files and its own manifests) into one checked decryption plan
// for a storage-encrypted asset. It matches the asset's blobs to that plan and
// tells whether a decrypted head looks like the file it should be, so that a
// wrong key or IV is caught on the first bytes rather than after the last.
package restore
