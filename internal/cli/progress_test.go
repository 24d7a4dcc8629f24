package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressLine(t *testing.T) {
	const total = 1 << 30
	draw := func(terminal, quiet bool, total int64) string {
		var errb bytes.Buffer
		p := NewProgress(&Env{Stderr: &errb, IsTerminal: terminal, Program: "amscrypt"}, quiet, "encrypt", ProgressMinSize)
		p.Update(0, total)
		p.Update(total/4, total) // within 250 ms of the last line: not drawn
		p.last = p.last.Add(-time.Second)
		p.Update(total/8, total) // less than a second in: no rate, no ETA yet
		p.last, p.start = p.last.Add(-time.Second), p.start.Add(-2*time.Second)
		p.Update(total/2, total)
		p.Update(total, total) // the last one is always drawn
		p.Finish()
		return errb.String()
	}
	line := draw(true, false, total)
	require.Contains(t, line, "amscrypt encrypt: 512.0 MiB / 1.0 GiB")
	require.Contains(t, line, "1.0 GiB / 1.0 GiB")
	require.NotContains(t, line, "256.0 MiB / ", "not throttled")
	require.Contains(t, line, "amscrypt encrypt: 0 B / 1.0 GiB  -- MiB/s  ETA --", "a rate before there is one")
	require.Contains(t, line, "amscrypt encrypt: 128.0 MiB / 1.0 GiB  -- MiB/s  ETA --", "a rate before there is one")
	require.Regexp(t, `512\.0 MiB / 1\.0 GiB  [0-9.]+ MiB/s  ETA [0-9]+s`, line)
	require.NotContains(t, line, "MB/s", "decimal and binary units mixed")
	require.Equal(t, byte('\n'), line[len(line)-1], "the line is not ended")

	require.Empty(t, draw(false, false, total), "drawn when stderr is not a terminal")
	require.Empty(t, draw(true, true, total), "drawn despite --quiet")
	require.Empty(t, draw(true, false, ProgressMinSize-1), "drawn for a small file")
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", 3 << 40: "3.0 TiB"} {
		require.Equal(t, want, size(n), "%d", n)
	}
}
