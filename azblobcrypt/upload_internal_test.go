package azblobcrypt

import (
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

const testBlockSize = 64 << 10

func TestBlockID(t *testing.T) {
	id, _ := contentkey.NewID()
	seen := map[string]string{}
	add := func(desc, s string) {
		t.Helper()
		if len(s) != 44 {
			t.Errorf("%s: id %q has %d characters, want 44", desc, s, len(s))
		}
		if prev, ok := seen[s]; ok {
			t.Errorf("%s and %s have the same block id %q", desc, prev, s)
		}
		seen[s] = desc
	}
	for _, i := range []int{0, 1, 255, 256, MaxBlocks - 1} {
		add("index", blockID(id, 7, testBlockSize, i))
	}
	add("other iv", blockID(id, 8, testBlockSize, 0))
	add("other block size", blockID(id, 7, testBlockSize+16, 0))
	add("max block size", blockID(id, 7, MaxBlockSize, 0))
	var other contentkey.ID
	add("other key", blockID(other, 7, testBlockSize, 0))
	first := blockID(id, 7, testBlockSize, 3)
	if again := blockID(id, 7, testBlockSize, 3); again != first {
		t.Error("BlockID is not deterministic")
	}
}
