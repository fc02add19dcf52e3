package executor

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// phase is the time spent in one kind of step (DNS, connect, TLS). Parallel
// dials (Happy Eyeballs) count once: from the first start to the first done.
type phase struct {
	start time.Time
	total time.Duration
	seen  bool
}

func (p *phase) begin(t time.Time) {
	if p.start.IsZero() {
		p.start = t
	}
}

func (p *phase) end(t time.Time) {
	if !p.start.IsZero() {
		p.total += t.Sub(p.start)
		p.start = time.Time{}
		p.seen = true
	}
}

// add counts q's finished time into p.
func (p *phase) add(q phase) {
	p.total += q.total
	p.seen = p.seen || q.seen
}

func (p *phase) ms() *float64 {
	if !p.seen {
		return nil
	}
	v := float64(p.total) / float64(time.Millisecond)
	return &v
}

const (
	phaseDNS = iota
	phaseConnect
	phaseTLS
	phases
)

// tracer times an attempt's phases through net/http/httptrace, over every
// round trip of the attempt (redirects included).
//
// The transport dials for a request but may hand that connection to another
// and give this request a pooled one; it also carries on dialing after a
// request has gone, calling hooks late, from its own goroutines (hence the
// mutex). So phases are held pending until GotConn: a new connection's are
// kept, a reused one's dropped. If the attempt ends with no connection (a
// refused dial, a failed handshake, a timeout), the pending phases are what
// it spent, one still in progress counting until the end.
type tracer struct {
	trace httptrace.ClientTrace
	start time.Time // set before the request is sent, read-only after

	mu        sync.Mutex
	pending   [phases]phase
	kept      [phases]phase
	waiting   bool // between GetConn and GotConn: pending phases are this attempt's
	firstByte time.Time
}

func newTracer() *tracer {
	t := &tracer{}
	t.trace = httptrace.ClientTrace{
		GetConn:              t.getConn,
		GotConn:              t.gotConn,
		DNSStart:             func(httptrace.DNSStartInfo) { t.begin(phaseDNS) },
		DNSDone:              func(httptrace.DNSDoneInfo) { t.end(phaseDNS) },
		ConnectStart:         func(string, string) { t.begin(phaseConnect) },
		ConnectDone:          func(string, string, error) { t.end(phaseConnect) },
		TLSHandshakeStart:    func() { t.begin(phaseTLS) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.end(phaseTLS) },
		GotFirstResponseByte: t.gotFirstByte,
	}
	return t
}

func (t *tracer) getConn(string) {
	t.mu.Lock()
	t.waiting = true
	t.pending = [phases]phase{}
	t.mu.Unlock()
}

func (t *tracer) gotConn(info httptrace.GotConnInfo) {
	t.mu.Lock()
	if !info.Reused {
		for i := range t.pending {
			t.kept[i].add(t.pending[i])
		}
	}
	t.pending = [phases]phase{}
	t.waiting = false
	t.mu.Unlock()
}

func (t *tracer) begin(i int) {
	now := time.Now()
	t.mu.Lock()
	t.pending[i].begin(now)
	t.mu.Unlock()
}

func (t *tracer) end(i int) {
	now := time.Now()
	t.mu.Lock()
	t.pending[i].end(now)
	t.mu.Unlock()
}

// gotFirstByte keeps the last response's first byte: after redirects, the
// final response's, measured from the start of the attempt's request.
func (t *tracer) gotFirstByte() {
	now := time.Now()
	t.mu.Lock()
	t.firstByte = now
	t.mu.Unlock()
}

// timings snapshots the phases; one that did not happen (a reused
// connection has no DNS, connect or TLS) is nil.
func (t *tracer) timings() apicron.Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.kept
	if t.waiting {
		now := time.Now()
		for i, q := range t.pending {
			q.end(now) // a phase cut off by the deadline counts until now
			p[i].add(q)
		}
	}
	tm := apicron.Timings{DNSMs: p[phaseDNS].ms(), ConnectMs: p[phaseConnect].ms(), TLSMs: p[phaseTLS].ms()}
	if !t.firstByte.IsZero() {
		v := float64(t.firstByte.Sub(t.start)) / float64(time.Millisecond)
		tm.FirstByteMs = &v
	}
	return tm
}
