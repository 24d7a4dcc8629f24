package contentkey

// reason is an error with its own text that matches a broader sentinel: the
// message says precisely what was wrong ("wrong key size", "unknown
// ContentKeyType") while callers test for the one sentinel of the concept.
type reason struct {
	msg string
	err error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.err }
