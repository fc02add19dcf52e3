//go:build !unix

package main

// openFileLimit returns 0: this system has no RLIMIT_NOFILE to read.
func openFileLimit() int { return 0 }
