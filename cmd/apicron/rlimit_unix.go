//go:build unix

package main

import (
	"math"
	"syscall"
)

// openFileLimit raises the soft RLIMIT_NOFILE to the hard limit and returns
// the soft limit. Go's runtime raises it at start already, to one below the
// hard limit; this takes the last one too, and reads what was granted
// (where the hard limit is infinite, as on macOS, the kernel may refuse it
// and keep the runtime's). 0 means the limit could not be read.
func openFileLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	if lim.Cur > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(lim.Cur)
}
