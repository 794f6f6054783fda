package viz

import (
	"math"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(+1)
	// 100 observations: 50 in (5,10], 40 in (10,20], 10 in (20,50].
	spread := map[float64]float64{5: 0, 10: 50, 20: 90, 50: 100, inf: 100}
	tests := []struct {
		name    string
		q       float64
		buckets map[float64]float64
		want    float64
		ok      bool
	}{
		{"median at a bucket edge", 0.5, spread, 10, true},
		{"p95 interpolated", 0.95, spread, 35, true},
		{"p99 interpolated", 0.99, spread, 47, true},
		{"lowest bucket starts at zero", 0.5, map[float64]float64{1: 10, inf: 10}, 0.5, true},
		{"rank in +Inf bucket gives the highest finite bound", 0.99, map[float64]float64{1: 1, 2: 2, inf: 100}, 2, true},
		{"no observations", 0.5, map[float64]float64{1: 0, inf: 0}, 0, false},
		{"no +Inf bucket", 0.5, map[float64]float64{1: 3, 2: 4}, 0, false},
		{"non-monotonic sums are made monotonic", 0.5, map[float64]float64{1: 6, 2: 5, inf: 10}, 0.8333333333333334, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := histogramQuantile(tt.q, tt.buckets)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("histogramQuantile(%v) = %v, %v; want %v, %v", tt.q, got, ok, tt.want, tt.ok)
			}
		})
	}
}
