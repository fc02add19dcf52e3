package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestSessionSecret: made once, the same for every node and after a
// restart, sealed with SECRET_KEY, and replaced when the key changed.
func TestSessionSecret(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		key := []byte(strings.Repeat("k", 32))
		db := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: key})
		a, err := db.SessionSecret(ctx)
		if err != nil || len(a) != 32 {
			t.Fatalf("first: %x, %v", a, err)
		}
		b, err := db.SessionSecret(ctx)
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("second: %x, %v; want the first", b, err)
		}
		if raw := rawQuery(t, driver, dsn, "SELECT value FROM settings WHERE name = 'session_key'"); !strings.HasPrefix(raw, "enc:") {
			t.Fatalf("stored %q, want it encrypted", raw)
		}
		db.Close()
		same := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: key})
		if c, err := same.SessionSecret(ctx); err != nil || !bytes.Equal(a, c) {
			t.Fatalf("after a restart: %x, %v; want the first", c, err)
		}
		same.Close()
		other := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: []byte(strings.Repeat("o", 32))})
		d, err := other.SessionSecret(ctx)
		if err != nil || len(d) != 32 || bytes.Equal(a, d) {
			t.Fatalf("with another key: %x, %v; want a new secret", d, err)
		}
	})
}

// TestTraceSeed: made once, the same for every node and after a restart,
// whatever SECRET_KEY; another database has another.
func TestTraceSeed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{})
		a, err := db.TraceSeed(ctx)
		if err != nil || len(a) != store.TraceSeedSize {
			t.Fatalf("first: %x, %v", a, err)
		}
		if b, err := db.TraceSeed(ctx); err != nil || !bytes.Equal(a, b) {
			t.Fatalf("second: %x, %v; want the first", b, err)
		}
		db.Close()
		// Another node (or a restart), with a SECRET_KEY this time.
		node := storetest.OpenDSN(t, driver, dsn, store.Config{NodeID: "other", SecretKey: []byte(strings.Repeat("k", 32))})
		if c, err := node.TraceSeed(ctx); err != nil || !bytes.Equal(a, c) {
			t.Fatalf("another node with a SECRET_KEY: %x, %v; want the first", c, err)
		}
		other := storetest.Open(t, driver, nil)
		if e, err := other.TraceSeed(ctx); err != nil || bytes.Equal(a, e) {
			t.Fatalf("another database: %x, %v; want another seed", e, err)
		}
	})
}
