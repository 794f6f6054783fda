package bench

import (
	"math"
	"strconv"
)

// niceTicks returns about n evenly spaced tick values, each a multiple of
// 1, 2 or 5 times a power of ten, from at or below lo to at or above hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		hi = lo + 1
	}
	n = max(n, 1)
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	ticks := make([]float64, 0, int(last-first)+1)
	for k := first; k <= last; k++ {
		// k*step rather than a running sum: no drift, and 0 is exactly 0.
		ticks = append(ticks, k*step)
	}
	return ticks
}

// tickLabel formats a tick with as many decimals as its step needs.
func tickLabel(v, step float64) string {
	decimals := 0
	if step > 0 && step < 1 {
		decimals = int(math.Ceil(-math.Log10(step)))
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}
