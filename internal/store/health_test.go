package store_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// Ping answers while clients' reads hold every reader connection (deep pages
// of a million runs hold them for seconds): it asks on a connection of its
// own, and on PostgreSQL, whose readers' pool is also the one that writes,
// its write probe writes there too. Before, /health queued behind the
// readers and answered 503 for a database that answered.
func TestPing_NotBehindReaders(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		readers := db.Readers()
		for range readers.Stats().MaxOpenConnections {
			c, err := readers.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}
		if st := readers.Stats(); st.InUse != st.MaxOpenConnections || st.Idle != 0 {
			t.Fatalf("readers %+v: the test must hold every one", st)
		}
		// Nothing was written for a minute: Ping's write probe is due.
		clock.Add(time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping with every reader held: %v", err)
		}
		if got := db.LastWriteAt(); !got.Equal(clock.Now()) {
			t.Errorf("the write probe did not commit (last write at %s, now %s)", got, clock.Now())
		}
	})
}

// Ping still reports, within seconds and whatever its caller's context, a
// PostgreSQL that stopped answering (here a network path that stopped
// passing bytes), and answers again once it does.
func TestPing_DatabaseStopsAnswering(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		if driver != "postgres" {
			t.Skip("an SQLite file is in this process: it cannot stop answering while the process runs")
		}
		dsn := storetest.NewDSN(t, driver)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		p := newFreezingProxy(t, u.Host)
		u.Host = p.addr
		db := storetest.OpenDSN(t, driver, u.String(), store.Config{Clock: storetest.NewClock(t0)})
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("ping: %v", err)
		}
		p.freeze(true)
		done := make(chan error, 1)
		go func() { done <- db.Ping(context.Background()) }()
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("Ping did not return while the database did not answer")
		}
		if apicron.ErrorCode(err) != apicron.EUNAVAILABLE || apicron.ErrorMessage(err) != "the database does not answer" {
			t.Fatalf("ping of a database that does not answer: %v", err)
		}
		p.freeze(false)
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("ping once the database answers again: %v", err)
		}
	})
}

// freezingProxy forwards TCP connections to a server; frozen, it passes no
// byte either way (and holds new connections), as a network path that
// stopped does, without closing anything.
type freezingProxy struct {
	addr   string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{addr: ln.Addr().String()}
	p.cond = sync.NewCond(&p.mu)
	var wg sync.WaitGroup
	var conns []net.Conn
	var connsMu sync.Mutex
	track := func(c net.Conn) {
		connsMu.Lock()
		conns = append(conns, c)
		connsMu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		p.freeze(false)
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			p.wait()
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			track(s)
			wg.Add(2)
			go func() { defer wg.Done(); p.pipe(s, c) }()
			go func() { defer wg.Done(); p.pipe(c, s) }()
		}
	}()
	return p
}

func (p *freezingProxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// wait returns once the proxy is not frozen.
func (p *freezingProxy) wait() {
	p.mu.Lock()
	for p.frozen {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// pipe copies from src to dst, holding what it read while frozen.
func (p *freezingProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
