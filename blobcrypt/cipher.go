package blobcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/amscrypt/amscrypt/contentkey"
)

// Sizes of the storage encryption cipher.
const (
	// KeySize is the size of a StorageEncryption content key (AES-256).
	KeySize = 32
	// BlockSize is the AES block size; the counter advances once per block.
	BlockSize = aes.BlockSize
)

// ErrKeyType is returned when the key is not a 32-byte StorageEncryption
// content key. Other key types are for other schemes and are never used for
// file encryption.
var ErrKeyType = errors.New("blobcrypt: key is not a 32-byte StorageEncryption key")

// Cipher is the keystream of one file: AES-256-CTR under one key and IV. A
// Cipher is immutable and safe for concurrent use.
type Cipher struct {
	// block is the standard library's own AES block, never wrapped: only
	// then does cipher.NewCTR take its assembly path.
	block cipher.Block
	iv    contentkey.IV
}

// NewCipher returns the keystream of the file with the given key and IV. The
// key must be a StorageEncryption key; anything else fails with ErrKeyType.
func NewCipher(key contentkey.Key, iv contentkey.IV) (*Cipher, error) {
	if key.Type() != contentkey.StorageEncryption || key.Len() != KeySize {
		return nil, fmt.Errorf("%w (got %v)", ErrKeyType, key)
	}
	kb := key.Bytes()
	block, err := aes.NewCipher(kb)
	clear(kb)
	if err != nil {
		return nil, fmt.Errorf("blobcrypt: %w", err)
	}
	return &Cipher{block: block, iv: iv}, nil
}

// IV returns the IV the Cipher was made with.
func (c *Cipher) IV() contentkey.IV { return c.iv }

// stream returns a CTR stream positioned at blob byte offset off.
func (c *Cipher) stream(off int64) cipher.Stream {
	// One small allocation for both buffers: they escape through the
	// cipher.Stream interface, which the compiler cannot see through.
	var b struct{ ctr, scratch [BlockSize]byte }
	binary.BigEndian.PutUint64(b.ctr[:8], uint64(c.iv))
	binary.BigEndian.PutUint64(b.ctr[8:], uint64(off)/BlockSize)
	s := cipher.NewCTR(c.block, b.ctr[:])
	if skip := off % BlockSize; skip != 0 {
		// Discard the part of the first block that lies before off. This is
		// the only keystream ever produced a block at a time.
		s.XORKeyStream(b.scratch[:skip], b.scratch[:skip])
	}
	return s
}

// XORKeyStreamAt XORs src with the keystream for the blob bytes starting at
// offset and writes the result to dst, which encrypts or decrypts that byte
// range on its own. Each call sets up a new CTR stream (a few hundred bytes,
// two allocations), which is noise for ranges of kilobytes; for sequential
// work Writer and Reader keep one stream. Like crypto/cipher, it panics if len(dst) < len(src), if
// offset is negative, or if dst and src overlap other than exactly.
func (c *Cipher) XORKeyStreamAt(dst, src []byte, offset int64) {
	if offset < 0 {
		panic("blobcrypt: negative offset")
	}
	if len(dst) < len(src) {
		panic("blobcrypt: output smaller than input")
	}
	if len(src) == 0 {
		return
	}
	c.stream(offset).XORKeyStream(dst[:len(src)], src)
}
