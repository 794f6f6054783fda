package check

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultCallTimeout bounds each API call when Env.CallTimeout is zero, so
// that an unreachable or black-holed API server fails promptly.
const DefaultCallTimeout = 10 * time.Second

// Runner runs categories of checks in order.
type Runner struct {
	// RetryInterval is the pause between attempts of a retrying check
	// (default 2s).
	RetryInterval time.Duration
	// Observer, when set, sees every result as it happens, including each
	// failed attempt of a retrying check (Status StatusRetrying).
	Observer func(Result)
}

// Summary is the outcome of a run.
type Summary struct {
	Results  []Result `json:"-"`
	Errors   int      `json:"errors"`
	Warnings int      `json:"warnings"`
	// Stopped is the code of the fatal check that ended the run early.
	Stopped string `json:"stopped,omitempty"`
}

// OK reports whether no error-severity check failed.
func (s Summary) OK() bool { return s.Errors == 0 }

// Run executes the categories in order until a fatal check fails or ctx
// ends; retrying checks spin until ctx's deadline (--wait).
func (r Runner) Run(ctx context.Context, env *Env, categories []Category) Summary {
	var sum Summary
	for _, cat := range categories {
		for _, c := range cat.Checks {
			res := r.runOne(ctx, env, cat.ID, c)
			sum.Results = append(sum.Results, res)
			switch res.Status {
			case StatusError:
				sum.Errors++
			case StatusWarning:
				sum.Warnings++
			}
			if r.Observer != nil {
				r.Observer(res)
			}
			if res.Status == StatusError && c.Fatal {
				sum.Stopped = c.Code
				return sum
			}
		}
	}
	return sum
}

func (r Runner) runOne(ctx context.Context, env *Env, category string, c Check) Result {
	res := Result{Category: category, Code: c.Code, Description: c.Description}
	start := time.Now()
	interval := r.RetryInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for attempt := 1; ; attempt++ {
		err := runGuarded(ctx, env, c)
		res.Elapsed = time.Since(start)
		if err == nil {
			res.Status = StatusOK
			return res
		}
		res.Err = err.Error()
		res.Hint = c.Hint
		res.HintURL = HintBaseURL + c.Anchor()
		if !c.Retry || ctx.Err() != nil || isFinal(err) {
			break
		}
		deadline, hasDeadline := ctx.Deadline()
		if !hasDeadline || time.Until(deadline) < interval {
			break
		}
		if r.Observer != nil {
			retry := res
			retry.Status = StatusRetrying
			r.Observer(retry)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
	if c.Severity == Warning {
		res.Status = StatusWarning
	} else {
		res.Status = StatusError
	}
	return res
}

// runGuarded runs one attempt of c under the per-call timeout and turns a
// panic into a failure, so one broken check never takes the doctor down.
func runGuarded(ctx context.Context, env *Env, c Check) (err error) {
	timeout := env.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error in check %s: %v", c.Code, p)
		}
	}()
	err = c.Run(cctx, env)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return err
}
