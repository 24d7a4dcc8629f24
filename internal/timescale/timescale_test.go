package timescale

import (
	"math"
	"testing"
)

func TestConvert(t *testing.T) {
	for _, tc := range []struct{ t, from, to, want uint64 }{
		{90000, 90000, 1000, 1000},
		{1, 3, 2, 0},
		{17_000_000_000_000_000, 10_000_000, 10_000_000, 17_000_000_000_000_000},
		{math.MaxUint64, 2, 3, math.MaxUint64},
	} {
		if got := Convert(tc.t, tc.from, tc.to); got != tc.want {
			t.Errorf("Convert(%d, %d, %d) = %d, want %d", tc.t, tc.from, tc.to, got, tc.want)
		}
	}
}
