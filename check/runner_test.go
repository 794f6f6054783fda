package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fixed(err error) func(context.Context, *Env) error {
	return func(context.Context, *Env) error { return err }
}

func TestRunnerSemantics(t *testing.T) {
	boom := errors.New("boom")
	var attempts atomic.Int32
	cats := []Category{
		{ID: "first", Checks: []Check{
			{Code: "T1", Description: "passes", Run: fixed(nil)},
			{Code: "T2", Description: "warns", Severity: Warning, Run: fixed(boom)},
			{Code: "T3", Description: "retries then passes", Retry: true, Run: func(context.Context, *Env) error {
				if attempts.Add(1) < 3 {
					return errors.New("not yet")
				}
				return nil
			}},
			{Code: "T4", Description: "panics", Run: func(context.Context, *Env) error { panic("oops") }},
		}},
		{ID: "second", Checks: []Check{
			{Code: "T5", Description: "fatal failure", Fatal: true, Run: fixed(boom)},
			{Code: "T6", Description: "never runs", Run: fixed(nil)},
		}},
	}
	var seen []string
	r := Runner{RetryInterval: 10 * time.Millisecond, Observer: func(res Result) { seen = append(seen, res.Code+":"+string(res.Status)) }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum := r.Run(ctx, &Env{Now: time.Now}, cats)
	want := "T1:success T2:warning T3:retrying T3:retrying T3:success T4:error T5:error"
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("observed %q\nwant     %q", got, want)
	}
	if sum.Errors != 2 || sum.Warnings != 1 || sum.Stopped != "T5" || sum.OK() {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(sum.Results[3].Err, "internal error in check T4: oops") {
		t.Fatalf("panic not reported: %q", sum.Results[3].Err)
	}
}

func TestRunnerRetryStopsAtDeadline(t *testing.T) {
	cats := []Category{{ID: "c", Checks: []Check{{Code: "T1", Description: "never ready", Retry: true, Run: fixed(errors.New("pod x: pending"))}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	retries := 0
	sum := Runner{RetryInterval: 20 * time.Millisecond, Observer: func(r Result) {
		if r.Status == StatusRetrying {
			retries++
		}
	}}.Run(ctx, &Env{}, cats)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("retrying past the deadline: %v", d)
	}
	if retries == 0 || sum.Errors != 1 || sum.Results[0].Err != "pod x: pending" {
		t.Fatalf("retries %d, summary %+v", retries, sum)
	}
}

func TestRunnerCallTimeout(t *testing.T) {
	hang := func(ctx context.Context, _ *Env) error { <-ctx.Done(); return ctx.Err() }
	cats := []Category{{ID: "c", Checks: []Check{{Code: "T1", Description: "hangs", Run: hang}}}}
	start := time.Now()
	sum := Runner{}.Run(context.Background(), &Env{CallTimeout: 50 * time.Millisecond}, cats)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a hanging call took %v", d)
	}
	if !strings.Contains(sum.Results[0].Err, "no answer within 50ms") {
		t.Fatalf("error %q", sum.Results[0].Err)
	}
}

func TestCatalogueIsWellFormed(t *testing.T) {
	codes := map[string]bool{}
	for _, cat := range Catalogue() {
		if cat.ID == "" || len(cat.Checks) == 0 {
			t.Errorf("category %q is empty", cat.ID)
		}
		for _, c := range cat.Checks {
			if codes[c.Code] {
				t.Errorf("code %s used twice", c.Code)
			}
			codes[c.Code] = true
			if !strings.HasPrefix(c.Code, "MESH") || len(c.Code) != 7 {
				t.Errorf("code %q: want MESHnnn", c.Code)
			}
			if c.Description == "" || c.Hint == "" || c.Run == nil {
				t.Errorf("%s: description, hint and run are required", c.Code)
			}
			if strings.HasSuffix(c.Hint, ".") {
				t.Errorf("%s: hints have no final period (docs add it)", c.Code)
			}
		}
	}
}

func TestRunnerFinalErrorIsNotRetried(t *testing.T) {
	var attempts atomic.Int32
	run := func(context.Context, *Env) error {
		attempts.Add(1)
		return fmt.Errorf("check x: %w", Final(errors.New("nothing to wait for")))
	}
	cats := []Category{{ID: "c", Checks: []Check{{Code: "T1", Description: "final", Retry: true, Run: run}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum := Runner{RetryInterval: 10 * time.Millisecond}.Run(ctx, &Env{}, cats)
	if attempts.Load() != 1 || sum.Errors != 1 || sum.Results[0].Err != "check x: nothing to wait for" {
		t.Fatalf("attempts %d, summary %+v", attempts.Load(), sum)
	}
}
