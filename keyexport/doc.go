// Package keyexport turns the key exports that survive Media Services'
// retirement (v3 getEncryptionKey responses, 2018-preview ones included, v2
// Files listings, AssetFiles and ContentKeys in JSON or Atom XML,
// RebindContentKey answers, Key Vault secrets and their versions, key files
// and its own manifests) into one checked decryption Plan for a
// storage-encrypted asset (NewPlan of their bytes, ReadPlan of their
// files), and matches the asset's file names to it.
// Documents are recognised by content; two that disagree are refused, never
// guessed between, and answers that hold no key are named for what they are.
package keyexport
