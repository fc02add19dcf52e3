package executor

import (
	"crypto/tls"
	"net/http/httptrace"
	"testing"
	"time"
)

func TestTracer(t *testing.T) {
	t.Parallel()
	tr := newTracer()
	tr.start = time.Now()
	h := tr.trace

	// Hop 1: a new connection, all phases.
	h.GetConn("a:443")
	h.DNSStart(httptrace.DNSStartInfo{})
	h.DNSDone(httptrace.DNSDoneInfo{})
	h.ConnectStart("tcp", "1.2.3.4:443")
	h.ConnectStart("tcp", "[::1]:443") // Happy Eyeballs: counted once
	h.ConnectDone("tcp", "1.2.3.4:443", nil)
	h.ConnectDone("tcp", "[::1]:443", nil)
	h.TLSHandshakeStart()
	h.TLSHandshakeDone(tls.ConnectionState{}, nil)
	h.GotConn(httptrace.GotConnInfo{})
	h.GotFirstResponseByte()
	hop1 := tr.timings()
	if hop1.DNSMs == nil || hop1.ConnectMs == nil || hop1.TLSMs == nil || hop1.FirstByteMs == nil {
		t.Fatalf("new connection timings = %+v, want all four", hop1)
	}

	// Hop 2 (a redirect): a dial starts, but a pooled connection wins; the
	// dial finishes late. None of it is this attempt's.
	h.GetConn("b:443")
	h.DNSStart(httptrace.DNSStartInfo{})
	h.DNSDone(httptrace.DNSDoneInfo{})
	h.ConnectStart("tcp", "5.6.7.8:443")
	h.GotConn(httptrace.GotConnInfo{Reused: true})
	h.ConnectDone("tcp", "5.6.7.8:443", nil)
	h.TLSHandshakeStart()
	h.TLSHandshakeDone(tls.ConnectionState{}, nil)
	if got := tr.timings(); *got.DNSMs != *hop1.DNSMs || *got.ConnectMs != *hop1.ConnectMs || *got.TLSMs != *hop1.TLSMs {
		t.Errorf("a reused connection changed the timings: %+v", got)
	}

	// Hop 3: the dial is still connecting when the attempt ends.
	h.GetConn("c:443")
	h.ConnectStart("tcp", "9.9.9.9:443")
	if got := tr.timings(); *got.ConnectMs < *hop1.ConnectMs {
		t.Errorf("connect in progress not counted: %v < %v", *got.ConnectMs, *hop1.ConnectMs)
	}
}

func TestTracer_ReusedOnly(t *testing.T) {
	t.Parallel()
	tr := newTracer()
	tr.start = time.Now()
	tr.trace.GetConn("a:80")
	tr.trace.GotConn(httptrace.GotConnInfo{Reused: true})
	tr.trace.GotFirstResponseByte()
	got := tr.timings()
	if got.DNSMs != nil || got.ConnectMs != nil || got.TLSMs != nil || got.FirstByteMs == nil {
		t.Errorf("timings = %+v, want only a first byte", got)
	}
}
