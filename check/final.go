package check

import "errors"

// finalError marks a failure that retrying cannot change.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

// Final marks err as one that waiting cannot mend, so that a retrying
// check reports it at once instead of retrying until --wait runs out.
func Final(err error) error {
	if err == nil {
		return nil
	}
	return finalError{err: err}
}

// isFinal reports whether err, or an error it wraps, was marked Final.
func isFinal(err error) bool {
	var f finalError
	return errors.As(err, &f)
}
