package reason

import (
	"errors"
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	sentinel := errors.New("pkg: invalid")
	err := fmt.Errorf("reading x: %w", New("pkg: key is 12 bytes, want 32", sentinel))
	if !errors.Is(err, sentinel) {
		t.Fatal("does not match its sentinel")
	}
	if got := err.Error(); got != "reading x: pkg: key is 12 bytes, want 32" {
		t.Fatalf("text %q", got)
	}
}
