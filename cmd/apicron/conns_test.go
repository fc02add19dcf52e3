package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/config"
)

func TestBudgetConns(t *testing.T) {
	t.Parallel()
	sqlite := config.Database{Driver: config.DriverSQLite}
	pg := config.Database{Driver: config.DriverPostgres}
	tests := []struct {
		name      string
		db        config.Database
		jobs, set int
		limit     int
		want      int
		wantErr   []string // in the error, or nil
	}{
		{"the limit less the reserve", sqlite, 100, 0, 1024, 1024 - 64 - 42 - 300, nil},
		{"PostgreSQL's pool", pg, 100, 0, 1024, 1024 - 64 - 34 - 300, nil},
		{"more calls to targets", sqlite, 1000, 0, 4000, 4000 - 64 - 42 - 3000, nil},
		{"at most 4096 computed", sqlite, 100, 0, 20_000, 4096, nil},
		{"set above 4096", sqlite, 100, 19_594, 20_000, 19_594, nil},
		{"set below what is left", sqlite, 100, 500, 1024, 500, nil},
		{"set to all that is left", sqlite, 100, 618, 1024, 618, nil},
		{"no limit to read", sqlite, 100, 0, 0, 4096, nil},
		{"no limit to read, set", sqlite, 100, 50_000, 0, 50_000, nil},
		{"too low a limit", sqlite, 100, 0, 256, 0, []string{"RLIMIT_NOFILE) is 256", "at least 422", "MAX_CONCURRENT_JOBS=100"}},
		{"just too low", sqlite, 100, 0, 421, 0, []string{"leaves 15 for API connections, fewer than 16"}},
		{"just enough", sqlite, 100, 0, 422, 16, nil},
		{"too many calls for the limit", sqlite, 10_000, 0, 20_000, 0, []string{"30000 for MAX_CONCURRENT_JOBS=10000", "lower MAX_CONCURRENT_JOBS"}},
		{"set above what is left", sqlite, 100, 619, 1024, 0, []string{"MAX_API_CONNECTIONS is 619", "leaves 618", "at least 1025"}},
		{"set far above", sqlite, 100, 19_595, 20_000, 0, []string{"MAX_API_CONNECTIONS is 19595", "leaves 19594"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Config{Database: tt.db, MaxConcurrentJobs: tt.jobs, MaxAPIConnections: tt.set}
			b, err := budgetConns(cfg, tt.limit)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("budgetConns = %+v, want an error", b)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil || b.maxConns != tt.want {
				t.Errorf("budgetConns = %+v, %v; want max %d", b, err, tt.want)
			}
		})
	}
}

// limitedServer serves handler through a limitListener of n connections
// (and grace for connections that send nothing) on loopback.
func limitedServer(t *testing.T, n int, grace time.Duration, handler http.Handler) (*limitListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(ln, n)
	l.grace = grace
	srv := &http.Server{Handler: handler, ConnState: l.ConnState}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return l, ln.Addr().String()
}

// client is one keep-alive connection that sends requests by hand.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dialClient(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

func (c *client) send(t *testing.T, path string) {
	t.Helper()
	if _, err := io.WriteString(c.c, "GET "+path+" HTTP/1.1\r\nHost: apicron\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
}

// get sends GET path and returns the status, or 0 and the error.
func (c *client) get(t *testing.T, path string) (int, error) {
	t.Helper()
	c.send(t, path)
	return c.read()
}

func (c *client) read() (int, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer reports whether the server closed c: a read ends with EOF
// (or a reset) instead of waiting.
func (c *client) closedByServer() bool {
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.r.ReadByte()
	var ne net.Error
	return err != nil && (!errors.As(err, &ne) || !ne.Timeout())
}

func (l *limitListener) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

// At the bound with every connection in a request, a new client is not
// accepted until one ends; then it is served.
func TestLimitListener_WaitsWhileAllBusy(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inFlight sync.WaitGroup
	l, addr := limitedServer(t, 2, time.Hour, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			inFlight.Done()
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	}))
	inFlight.Add(2)
	busy := []*client{dialClient(t, addr), dialClient(t, addr)}
	for _, c := range busy {
		c.send(t, "/block")
	}
	inFlight.Wait()
	late := dialClient(t, addr) // the kernel completes the handshake; apicron has not accepted it
	late.send(t, "/health")
	time.Sleep(200 * time.Millisecond) // time enough to be accepted, were it allowed
	if n := l.openConns(); n > 2 {
		t.Fatalf("%d connections open, bound 2", n)
	}
	_ = late.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := late.r.Peek(1); err == nil {
		t.Fatal("a third client was answered while two requests held the bound")
	}
	close(release)
	for _, c := range busy {
		if code, err := c.read(); code != 200 {
			t.Fatalf("busy client: %d %v", code, err)
		}
	}
	if code, err := late.read(); code != 200 {
		t.Errorf("the waiting client, once a request ended: %d %v", code, err)
	}
}

// At the bound, a new client is served at once: the connections idle the
// longest are closed to make room, the latest stay open.
func TestLimitListener_ShedsLongestIdle(t *testing.T) {
	t.Parallel()
	l, addr := limitedServer(t, 3, time.Hour, okHandler)
	var clients []*client
	for i := range 6 {
		c := dialClient(t, addr)
		if code, err := c.get(t, "/health"); code != 200 {
			t.Fatalf("client %d: %d %v", i, code, err)
		}
		clients = append(clients, c)
		if n := l.openConns(); n > 3 {
			t.Fatalf("%d connections open, bound 3", n)
		}
		// The server files a connection idle just after writing its
		// response, so the client can read it and the next one dial before
		// that happens; a pause keeps the order they go idle in the order
		// they were served in.
		time.Sleep(50 * time.Millisecond)
	}
	// One slot is kept for the next client: the newest two stay.
	for i, c := range clients[:4] {
		if !c.closedByServer() {
			t.Errorf("client %d, among the longest idle, is still open", i)
		}
	}
	for i, c := range clients[4:] {
		if code, err := c.get(t, "/health"); code != 200 {
			t.Errorf("client %d, among the latest, on its kept connection: %d %v", i+4, code, err)
		}
	}
}

// A connection that sends nothing is closed to make room once it has had
// its grace; a connection in a request never is.
func TestLimitListener_ShedsSilentAfterGrace(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	_, addr := limitedServer(t, 2, 50*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			close(entered)
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	}))
	busy := dialClient(t, addr)
	busy.send(t, "/block")
	<-entered
	silent := dialClient(t, addr)
	c := dialClient(t, addr)
	if code, err := c.get(t, "/health"); code != 200 {
		t.Fatalf("a client behind a silent one: %d %v", code, err)
	}
	if !silent.closedByServer() {
		t.Error("the silent connection is still open")
	}
	_ = busy.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := busy.r.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the connection in a request: %v, want it open and waiting", err)
	}
}

// Closing the listener ends an Accept waiting for room.
func TestLimitListener_CloseEndsWait(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(ln, 1)
	first := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		first <- c
	}()
	held := dialClient(t, ln.Addr().String())
	defer held.c.Close()
	c := <-first
	defer c.Close()
	waited := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		waited <- err
	}()
	l.Close()
	if err := <-waited; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// 401 and 403 close the connection; other answers keep it.
func TestServe_RefusedConnectionClosed(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "close.db"), map[string]string{"API_TOKEN": "token-0123456789abcdef"})
	for _, tt := range []struct {
		path      string
		wantCode  int
		wantClose bool
	}{
		{"/targets", 401, true},
		{"/health", 200, false},
	} {
		resp, err := http.Get(s.url + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode || resp.Close != tt.wantClose {
			t.Errorf("GET %s: %d, Connection: close %v; want %d, %v", tt.path, resp.StatusCode, resp.Close, tt.wantCode, tt.wantClose)
		}
	}
}
