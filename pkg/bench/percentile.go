package bench

import (
	"math"
	"slices"
	"time"
)

// Recorder keeps every sample at 1 µs resolution and answers exact
// percentiles. A benchmark phase records at most a few million samples, so
// keeping them all (4 bytes each) is cheaper than being approximately right.
// A Recorder is not safe for concurrent use; each worker owns one and the
// results are merged.
type Recorder struct {
	us     []uint32
	sorted bool
}

// Add records d, rounded to the nearest microsecond; negative durations
// count as zero and durations beyond ~71 minutes saturate.
func (r *Recorder) Add(d time.Duration) {
	us := (d + 500*time.Nanosecond) / time.Microsecond
	switch {
	case us < 0:
		us = 0
	case us > math.MaxUint32:
		us = math.MaxUint32
	}
	r.us = append(r.us, uint32(us))
	r.sorted = false
}

// Merge adds every sample of other.
func (r *Recorder) Merge(other *Recorder) {
	r.us = append(r.us, other.us...)
	r.sorted = false
}

// Count is the number of samples.
func (r *Recorder) Count() int { return len(r.us) }

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) in
// microseconds: the smallest sample such that at least p % of the samples
// are less than or equal to it. It returns 0 without samples.
func (r *Recorder) Percentile(p float64) float64 {
	if len(r.us) == 0 {
		return 0
	}
	if !r.sorted {
		slices.Sort(r.us)
		r.sorted = true
	}
	rank := int(math.Ceil(p / 100 * float64(len(r.us))))
	rank = min(max(rank, 1), len(r.us))
	return float64(r.us[rank-1])
}

// Summary is the usual digest of a distribution, in microseconds.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Summarize digests the samples.
func (r *Recorder) Summarize() Summary {
	return Summary{
		Count: r.Count(),
		P50:   r.Percentile(50),
		P90:   r.Percentile(90),
		P99:   r.Percentile(99),
		P999:  r.Percentile(99.9),
		Max:   r.Percentile(100),
	}
}
