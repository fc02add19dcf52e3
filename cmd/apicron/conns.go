package main

import (
	"cmp"
	"container/list"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/apicron/apicron/internal/config"
	"github.com/apicron/apicron/internal/store"
)

// The API's connections share the process's file descriptors with the
// database and the calls to targets. Idle keep-alive clients once took
// them all: SQLite could not open its files, claims failed and schedules
// stopped firing. So the API holds at most a bounded number of
// connections (the open-file limit less a reserve for everything else),
// and at the bound it closes the longest-idle one to make room for the
// next. Clients beyond the bound wait in the kernel's accept queue, which
// holds no descriptor of ours.

// Files kept out of the API's reach, besides the database's (store.MaxFiles).
const (
	// baseFiles: the standard streams, the runtime's poller and its cgroup
	// files, the listener, the files read now and then (time zones,
	// resolv.conf, hosts), and headroom.
	baseFiles = 64
	// filesPerJob: a call in flight holds its connection, and while it
	// dials a second (the other address family's attempt, or the lookup's
	// sockets); its connection may then wait idle for the next call, so the
	// executor's idle pool must keep no more than MAX_CONCURRENT_JOBS.
	filesPerJob = 3
	// minAPIConnections is the smallest computed bound apicron starts
	// with: below it the API could hardly serve two clients and a probe.
	minAPIConnections = 16
)

// connBudget is how the open-file limit is shared.
type connBudget struct {
	fileLimit int // the soft RLIMIT_NOFILE, raised to the hard limit
	reserve   int // kept for the process, the database and the targets
	maxConns  int // the bound on API connections
}

// budgetConns decides the bound on API connections for cfg, given the
// process's open-file limit (0 if unknown). It refuses a limit that leaves
// the API fewer than minAPIConnections, or less than MAX_API_CONNECTIONS
// asks for, and says how to fix it.
func budgetConns(cfg config.Config, fileLimit int) (connBudget, error) {
	if fileLimit <= 0 {
		return connBudget{maxConns: cmp.Or(cfg.MaxAPIConnections, config.MaxComputedAPIConnections)}, nil
	}
	db := store.MaxFiles(cfg.Database.Driver)
	jobs := filesPerJob * cfg.MaxConcurrentJobs
	b := connBudget{fileLimit: fileLimit, reserve: baseFiles + db + jobs}
	left := fileLimit - b.reserve
	kept := fmt.Sprintf("%d for itself, %d for the %s database and %d for MAX_CONCURRENT_JOBS=%d calls to targets",
		baseFiles, db, cfg.Database.Driver, jobs, cfg.MaxConcurrentJobs)
	switch {
	case cfg.MaxAPIConnections == 0 && left < minAPIConnections:
		return b, fmt.Errorf("the open-file limit (RLIMIT_NOFILE) is %d: apicron keeps %d files (%s), which leaves %d for API "+
			"connections, fewer than %d; raise the limit to at least %d (ulimit -n, LimitNOFILE= in a systemd unit, "+
			"--ulimit nofile= for Docker), or lower MAX_CONCURRENT_JOBS",
			fileLimit, b.reserve, kept, max(left, 0), minAPIConnections, b.reserve+minAPIConnections)
	case cfg.MaxAPIConnections == 0:
		b.maxConns = min(left, config.MaxComputedAPIConnections)
	case cfg.MaxAPIConnections > left:
		return b, fmt.Errorf("MAX_API_CONNECTIONS is %d, but the open-file limit (RLIMIT_NOFILE) is %d and apicron keeps %d files "+
			"(%s), which leaves %d: beyond that a flood of connections could take the files the schedules need; raise the limit "+
			"to at least %d (ulimit -n, LimitNOFILE= in a systemd unit, --ulimit nofile= for Docker), or lower "+
			"MAX_API_CONNECTIONS or MAX_CONCURRENT_JOBS, or set MAX_API_CONNECTIONS=0 to use what is left",
			cfg.MaxAPIConnections, fileLimit, b.reserve, kept, max(left, 0), b.reserve+cfg.MaxAPIConnections)
	default:
		b.maxConns = cfg.MaxAPIConnections
	}
	return b, nil
}

// apiIdleTimeout is how long a keep-alive connection may wait idle for its
// next request, below the bound: clients that need one longer reconnect.
const apiIdleTimeout = 30 * time.Second

// freshGrace is how long a new connection may go without sending a whole
// request head before, at the bound, it may be closed to make room: a
// client that connects and sends nothing is as idle as one between requests.
const freshGrace = 2 * time.Second

// limitListener accepts at most max connections open at once. At the bound
// it closes, to make room for the next, the connection idle the longest
// between requests, else the oldest that has not sent a whole request head
// within freshGrace; one in a request is never closed. Its ConnState must
// be the http.Server's ConnState, which tells it which connections are idle.
//
// golang.org/x/net/netutil.LimitListener bounds connections too, but it
// cannot close an idle one: there, as many idle keep-alive clients as the
// bound would leave every new client waiting for the idle timeout.
type limitListener struct {
	net.Listener
	max   int
	grace time.Duration // freshGrace; shorter in tests

	mu    sync.Mutex
	open  int       // accepted and not closed, plus the one being accepted
	idle  list.List // *limitConn between requests, the longest idle first
	fresh list.List // *limitConn yet to send a request, the oldest first

	wake      chan struct{} // a slot freed or a connection went idle; buffered, size 1
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, max: n, grace: freshGrace, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// limitConn is a connection limitListener accepted; closing it frees its slot.
type limitConn struct {
	net.Conn
	l      *limitListener
	in     *list.List    // l.idle or l.fresh, or nil; under l.mu
	elem   *list.Element // its place there
	since  time.Time     // when it joined in
	closed bool          // under l.mu
	once   sync.Once
}

// Accept waits for a slot (closing a connection to make one, if it can),
// then accepts.
func (l *limitListener) Accept() (net.Conn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		l.open--
		l.mu.Unlock()
		return nil, err
	}
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) acquire() error {
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return nil
		}
		victim, wait := l.victimLocked(time.Now())
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Close() // an error closing is still closed
			continue
		}
		if err := l.wait(wait); err != nil {
			return err
		}
	}
}

// wait waits for a slot to free or a connection to go idle, at most d if
// d > 0, or for Close.
func (l *limitListener) wait(d time.Duration) error {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-l.wake:
	case <-timeout:
	case <-l.done:
		return net.ErrClosed
	}
	return nil
}

// victimLocked returns the connection to close to make room, or nil and
// how long until the oldest fresh one may be closed (0: none to wait for).
func (l *limitListener) victimLocked(now time.Time) (*limitConn, time.Duration) {
	if e := l.idle.Front(); e != nil {
		c := e.Value.(*limitConn)
		c.unlinkLocked()
		return c, 0
	}
	if e := l.fresh.Front(); e != nil {
		c := e.Value.(*limitConn)
		if wait := c.since.Add(l.grace).Sub(now); wait > 0 {
			return nil, wait
		}
		c.unlinkLocked()
		return c, 0
	}
	return nil, 0
}

// ConnState is the http.Server's ConnState hook: it files each connection
// as fresh, idle or neither.
func (l *limitListener) ConnState(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	lc.unlinkLocked()
	if !lc.closed {
		switch state {
		case http.StateNew:
			lc.linkLocked(&l.fresh, time.Now())
		case http.StateIdle:
			lc.linkLocked(&l.idle, time.Now())
		}
	}
	l.mu.Unlock()
	l.signal()
}

// signal wakes an Accept waiting for room, without blocking.
func (l *limitListener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting; the connections open stay open.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (c *limitConn) linkLocked(in *list.List, now time.Time) {
	c.in, c.since = in, now
	c.elem = in.PushBack(c)
}

func (c *limitConn) unlinkLocked() {
	if c.in != nil {
		c.in.Remove(c.elem)
		c.in, c.elem = nil, nil
	}
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		c.unlinkLocked()
		c.l.open--
		c.l.mu.Unlock()
		c.l.signal()
	})
	return err
}

// closeRefused answers 401 and 403 with Connection: close: a client
// without a valid token has no request to send next, and its idle
// connection would only hold a descriptor.
func closeRefused(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&refusedCloser{ResponseWriter: w}, r)
	})
}

type refusedCloser struct {
	http.ResponseWriter
	wrote bool
}

func (w *refusedCloser) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusedCloser) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer (Flush,
// deadlines).
func (w *refusedCloser) Unwrap() http.ResponseWriter { return w.ResponseWriter }
