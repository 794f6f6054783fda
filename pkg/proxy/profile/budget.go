package profile

import (
	"sync"
	"time"
)

// BudgetSpec bounds retries: over the last TTL they may add Ratio of the
// requests seen, plus MinPerSecond every second.
type BudgetSpec struct {
	Ratio        float64
	MinPerSecond int
	TTL          time.Duration
}

// DefaultBudget is Linkerd's default retry budget.
func DefaultBudget() BudgetSpec {
	return BudgetSpec{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}
}

// budgetSlots is how many slots the window is cut into.
const budgetSlots = 10

// Budget tracks one Service's requests and retries over a sliding window
// of slots. It is safe for concurrent use.
type Budget struct {
	mu       sync.Mutex
	spec     BudgetSpec
	slot     time.Duration
	requests [budgetSlots]int
	retries  [budgetSlots]int
	epoch    int64 // index of the newest slot since the zero time
	now      func() time.Time
}

// NewBudget returns an empty budget of spec; now replaces the clock in
// tests (nil means time.Now).
func NewBudget(spec BudgetSpec, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	b := &Budget{now: now}
	b.set(spec)
	return b
}

// Update changes the budget's parameters (a new ServiceProfile), keeping
// what it has counted.
func (b *Budget) Update(spec BudgetSpec) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if spec != b.spec {
		b.set(spec)
	}
}

func (b *Budget) set(spec BudgetSpec) {
	if spec.TTL <= 0 {
		spec.TTL = DefaultBudget().TTL
	}
	b.spec = spec
	b.slot = max(spec.TTL/budgetSlots, time.Millisecond)
	b.requests, b.retries, b.epoch = [budgetSlots]int{}, [budgetSlots]int{}, 0
}

// advance moves the window to now, clearing slots that fell out of it.
func (b *Budget) advance() int {
	e := b.now().UnixNano() / int64(b.slot)
	if b.epoch == 0 || e-b.epoch >= budgetSlots {
		b.requests, b.retries = [budgetSlots]int{}, [budgetSlots]int{}
	} else {
		for i := b.epoch + 1; i <= e; i++ {
			b.requests[i%budgetSlots], b.retries[i%budgetSlots] = 0, 0
		}
	}
	if e > b.epoch {
		b.epoch = e
	}
	return int(b.epoch % budgetSlots)
}

// Deposit counts one original request.
func (b *Budget) Deposit() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests[b.advance()]++
}

// Withdraw takes one retry from the budget, and reports whether there was
// one to take.
func (b *Budget) Withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.advance()
	var reqs, rets int
	for j := range budgetSlots {
		reqs += b.requests[j]
		rets += b.retries[j]
	}
	allowed := b.spec.Ratio*float64(reqs) + float64(b.spec.MinPerSecond)*b.spec.TTL.Seconds()
	if float64(rets)+1 > allowed {
		return false
	}
	b.retries[i]++
	return true
}
