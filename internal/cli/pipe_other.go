//go:build !unix

package cli

// outputBroken reports whether a SIGPIPE should stop the process; where
// standard output cannot be polled, every SIGPIPE does.
func outputBroken() bool { return true }
