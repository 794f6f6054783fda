package bench

import (
	"testing"
	"time"
)

func TestRecorderPercentiles(t *testing.T) {
	var r Recorder
	for i := 1; i <= 100; i++ { // 1 µs … 100 µs, added out of order
		r.Add(time.Duration(101-i) * time.Microsecond)
	}
	tests := []struct {
		p    float64
		want float64
	}{
		{50, 50}, {90, 90}, {99, 99}, {99.9, 100}, {100, 100}, {0.5, 1}, {1, 1}, {1.5, 2},
	}
	for _, tt := range tests {
		if got := r.Percentile(tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	s := r.Summarize()
	if s.Count != 100 || s.P50 != 50 || s.P999 != 100 || s.Max != 100 {
		t.Errorf("summary %+v", s)
	}
}

func TestRecorderResolutionAndLimits(t *testing.T) {
	var r Recorder
	r.Add(1499 * time.Nanosecond) // rounds to 1 µs
	r.Add(1500 * time.Nanosecond) // rounds to 2 µs
	r.Add(-time.Second)           // clock went backwards: 0
	r.Add(100 * time.Hour)        // saturates
	if got := r.Percentile(25); got != 0 {
		t.Errorf("p25 = %v, want 0", got)
	}
	if got := r.Percentile(50); got != 1 {
		t.Errorf("p50 = %v, want 1", got)
	}
	if got := r.Percentile(75); got != 2 {
		t.Errorf("p75 = %v, want 2", got)
	}
	if got := r.Percentile(100); got != 4294967295 {
		t.Errorf("max = %v, want saturated", got)
	}
	var empty Recorder
	if got := empty.Percentile(99); got != 0 {
		t.Errorf("empty p99 = %v", got)
	}
}

func TestRecorderMerge(t *testing.T) {
	var a, b Recorder
	for i := range 10 {
		a.Add(time.Duration(i) * time.Millisecond)
		b.Add(time.Duration(i+10) * time.Millisecond)
	}
	_ = a.Percentile(50) // sorted before the merge; the merge must unsort
	a.Merge(&b)
	if a.Count() != 20 {
		t.Fatalf("count %d", a.Count())
	}
	if got := a.Percentile(50); got != 9000 {
		t.Errorf("merged p50 = %v µs, want 9000", got)
	}
	if got := a.Percentile(100); got != 19000 {
		t.Errorf("merged max = %v µs, want 19000", got)
	}
}

func TestMedianAndStat(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	s := statOf([]float64{5, nan(), 1, 3})
	if s != (Stat{N: 3, Median: 3, Min: 1, Max: 5}) {
		t.Errorf("stat %+v", s)
	}
	if s := statOf(nil); s.N != 0 {
		t.Errorf("empty stat %+v", s)
	}
}
