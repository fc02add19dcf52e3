package store

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/apicron/apicron"
)

// syncBuffer is a log destination safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Ping's message, which /health shows without a token, names neither the
// database's host nor its user nor its name, though the driver's error
// quotes all three; the driver's error is logged, once for the lasting fault.
func TestPing_MessageHidesDriverText(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	host, port, _ := net.SplitHostPort(addr)
	const user, dbname = "alice_payroll", "payroll_db"
	var logs syncBuffer
	db := &DB{clock: apicron.SystemClock{}, logger: slog.New(slog.NewTextHandler(&logs, nil)), release: func() {}}
	t.Cleanup(func() { db.Close() })
	if err := db.openPostgres(t.Context(), "postgres://"+user+":pw@"+addr+"/"+dbname+"?sslmode=disable&connect_timeout=5", 0); err == nil {
		t.Fatal("connected to a closed port")
	}
	for range 2 {
		err := db.Ping(t.Context())
		msg := apicron.ErrorMessage(err)
		if apicron.ErrorCode(err) != apicron.EUNAVAILABLE || msg != "the database does not answer: cannot connect to PostgreSQL" {
			t.Fatalf("ping: %v (message %q)", err, msg)
		}
		for _, secret := range []string{user, dbname, host, port} {
			if strings.Contains(msg, secret) {
				t.Errorf("message %q shows %q", msg, secret)
			}
		}
	}
	log := logs.String()
	if n := strings.Count(log, "level=WARN"); n != 1 || !strings.Contains(log, user) || !strings.Contains(log, port) {
		t.Errorf("want one Warn line with the driver's error, got:\n%s", log)
	}
}
