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

// TestProgressBatch: assets done in front; until every asset is sized the
// total has a "+" and the ETA counts the unsized assets at the sized
// ones' mean size.
func TestProgressBatch(t *testing.T) {
	var errb bytes.Buffer
	p := NewProgress(&Env{Stderr: &errb, IsTerminal: true, Program: "amscrypt"}, false, "restore", 0)
	p.UpdateBatch(0, 0, 300, 0, 0)
	require.Contains(t, errb.String(), "amscrypt restore: 0/300 assets  0 B / 0 B+  -- MiB/s  ETA --")
	p.last, p.start = p.last.Add(-time.Second), time.Now().Add(-10*time.Second)
	// 100 MiB done in 10 s of 150 MiB sized over 10 of 20 assets: 300 MiB
	// in all, 200 MiB to go at 10 MiB/s.
	p.UpdateBatch(5, 10, 20, 100<<20, 150<<20)
	require.Contains(t, errb.String(), "5/20 assets  100.0 MiB / 150.0 MiB+  10.0 MiB/s  ETA 20s")
	p.UpdateBatch(20, 20, 20, 300<<20, 300<<20) // the last one is always drawn
	require.Contains(t, errb.String(), "20/20 assets  300.0 MiB / 300.0 MiB  ")
}
