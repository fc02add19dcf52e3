//go:build !linux

package store_test

import "errors"

// setImmutable is not available here: the tests that need it skip.
func setImmutable(string, bool) error { return errors.New("no immutable flag on this system") }
