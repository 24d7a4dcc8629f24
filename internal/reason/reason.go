// Package reason gives an error its own text while it matches a broader
// sentinel (errors.Is), so that a message says precisely what was wrong and
// a package keeps one sentinel per outcome a caller acts on.
package reason

// New returns an error whose text is msg and which matches sentinel.
func New(msg string, sentinel error) error { return &reasonError{msg, sentinel} }

type reasonError struct {
	msg      string
	sentinel error
}

func (r *reasonError) Error() string { return r.msg }
func (r *reasonError) Unwrap() error { return r.sentinel }
