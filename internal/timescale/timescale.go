// Package timescale converts media times between timescales (ticks per
// second) without overflowing: a live archive's times are a channel's
// clock, 1.7e16 ticks of 10 MHz since 1970, whose product with a 10 MHz
// timescale is past 2^64.
package timescale

import (
	"math"
	"math/bits"
)

// Convert returns t ticks of timescale from in ticks of timescale to,
// rounded down, saturating at 2^64-1 when the result does not fit.
func Convert(t, from, to uint64) uint64 {
	hi, lo := bits.Mul64(t, to)
	if hi >= from {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, from)
	return q
}
