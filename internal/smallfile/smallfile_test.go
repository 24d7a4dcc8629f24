package smallfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	require.NoError(t, os.WriteFile(ok, make([]byte, Max), 0o600))
	b, err := Read(ok)
	require.NoError(t, err)
	require.Len(t, b, Max)

	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, Max+1), 0o600))
	_, err = Read(big)
	require.ErrorContains(t, err, "larger than")

	_, err = Read("/dev/zero")
	require.ErrorContains(t, err, "larger than")

	_, err = Read(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
