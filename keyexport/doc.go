// Package keyexport turns the key exports that survive Media Services'
// retirement (v3 getEncryptionKey responses, v2 Files listings, AssetFiles
// and ContentKeys, RebindContentKey answers, Key Vault secrets, key files
// and its own manifests) into one checked decryption Plan for a
// storage-encrypted asset, and matches the asset's file names to it.
// Documents are recognised by content; two that disagree are refused, never
// guessed between.
package keyexport
