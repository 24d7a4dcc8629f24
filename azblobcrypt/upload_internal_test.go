package azblobcrypt

import (
	"crypto/sha256"
	"testing"
)

// TestBlockID: an id is 44 characters, the same for the same index and
// bytes, and differs when the index or any byte up to the block's end
// (its length included) differs.
func TestBlockID(t *testing.T) {
	id := func(index int, data string) string {
		h := sha256.New()
		h.Write([]byte(data))
		return blockID(index, h)
	}
	seen := map[string]string{}
	for _, tc := range []struct {
		desc, data string
		index      int
	}{
		{"block 0", "abcd", 0},
		{"block 1", "abcd", 1},
		{"last index", "abcd", MaxBlocks - 1},
		{"a byte changed", "abce", 0},
		{"a byte more", "abcde", 0},
		{"a byte less", "abc", 0},
		{"an earlier byte changed", "Abcd", 0},
	} {
		s := id(tc.index, tc.data)
		if len(s) != 44 {
			t.Errorf("%s: id %q has %d characters, want 44", tc.desc, s, len(s))
		}
		if prev, ok := seen[s]; ok {
			t.Errorf("%s and %s have the same block id %q", tc.desc, prev, s)
		}
		seen[s] = tc.desc
	}
	if a, b := id(3, "xyz"), id(3, "xyz"); a != b {
		t.Error("blockID is not deterministic")
	}
}
