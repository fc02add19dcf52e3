package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sink is the loopback target: a plain net/http server that answers 200 at
// once and records, per request, when it arrived and which occurrence it
// carried. It lives in the harness process, so the harness's own CPU use is
// part of the machine's load (the same for apicron and for the baseline).
type sink struct {
	srv *http.Server
	url string

	mu   sync.Mutex
	recs []arrival

	unlabelled atomic.Int64 // requests without parseable X-Apicron-* headers
	signed     atomic.Int64 // requests carrying a webhook-signature header (not verified)
}

// startSink listens on a free loopback port.
func startSink(expect int) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{url: "http://" + ln.Addr().String() + "/hook", recs: make([]arrival, 0, expect)}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

var okBody = []byte("ok")

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now().UnixNano()
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Header.Get("Webhook-Signature") != "" {
		s.signed.Add(1)
	}
	a := arrival{at: at}
	var err1, err2 error
	a.sched, err1 = strconv.ParseInt(r.Header.Get("X-Apicron-Schedule-Id"), 10, 64)
	var ts time.Time
	ts, err2 = time.Parse(time.RFC3339Nano, r.Header.Get("X-Apicron-Scheduled-At"))
	if err1 != nil || err2 != nil {
		s.unlabelled.Add(1)
	} else {
		a.schedAt = ts.UnixMilli()
		s.mu.Lock()
		s.recs = append(s.recs, a)
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(okBody)
}

// take returns what was recorded so far and starts a new record.
func (s *sink) take() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.recs
	s.recs = make([]arrival, 0, cap(out))
	return out
}

// first returns the earliest arrival recorded, or zero.
func (s *sink) first() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first int64
	for _, a := range s.recs {
		if first == 0 || a.at < first {
			first = a.at
		}
	}
	return first
}

// count returns how many requests were recorded so far.
func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func (s *sink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}
