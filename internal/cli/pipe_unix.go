//go:build unix

package cli

import (
	"golang.org/x/sys/unix"
)

// outputBroken reports whether standard output or standard error is a pipe
// or socket whose reader has gone: the one case in which a SIGPIPE means
// this process should stop. Every other SIGPIPE comes from a network
// connection its peer closed (a client leaving serve, a storage front end
// resetting a kept-alive connection), whose write already failed with EPIPE
// and is handled where it happened.
func outputBroken() bool {
	fds := []unix.PollFd{{Fd: 1}, {Fd: 2}}
	n, err := unix.Poll(fds, 0)
	if err != nil || n == 0 {
		return false
	}
	for _, f := range fds {
		if f.Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return true
		}
	}
	return false
}
