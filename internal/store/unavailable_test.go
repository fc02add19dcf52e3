package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/apicron/apicron/internal/store"
)

// A PostgreSQL connection that broke under a statement (the server stopped,
// a failover) reads as the database being unavailable, with a reason, not
// as an internal error; other errors do not, and SQLite is not read so.
func TestUnavailable_ConnectionLost(t *testing.T) {
	t.Parallel()
	lost := []error{
		fmt.Errorf("write results: %w", io.ErrUnexpectedEOF),
		fmt.Errorf("claim: %w", io.EOF),
		fmt.Errorf("take runs: %w", driver.ErrBadConn),
		&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
		errors.New("begin: conn closed"),
	}
	for _, err := range lost {
		if got := store.Unavailable("postgres", err); got != "the connection to PostgreSQL was lost" {
			t.Errorf("%v: %q, want the connection lost", err, got)
		}
		if got := store.Unavailable("sqlite", err); got != "" {
			t.Errorf("sqlite, %v: %q, want nothing", err, got)
		}
	}
	for _, err := range []error{
		errors.New("duplicate key value violates unique constraint"),
		fmt.Errorf("timeout: %w", context.DeadlineExceeded),
		fmt.Errorf("write: %w", context.Canceled),
	} {
		if got := store.Unavailable("postgres", err); got != "" {
			t.Errorf("%v read as unavailable: %q", err, got)
		}
	}
}
