package main

// Targets that misbehave in every way a TCP peer can.

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// rawTarget is a TCP server that reads a request's head, logs it for the
// history checker, and then does whatever misbehave does with the
// connection, which it closes afterwards.
func rawTarget(t *testing.T, sinkLog *histcheck.Log, misbehave func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c)) // the head; misbehave answers before any body
				if err != nil {
					return
				}
				logRequest(sinkLog, req)
				misbehave(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// logRequest logs r for the history checker, as histcheck.Record does.
func logRequest(sinkLog *histcheck.Log, r *http.Request) {
	req, err := histcheck.FromHTTP(r, time.Now())
	if err != nil {
		req = histcheck.Request{ReceivedAt: req.ReceivedAt} // not a run's request: counted, not checked
	}
	_ = sinkLog.Add(req) // a failed write stays in sinkLog.Err, which requireHistory reports
}

// trickle writes one byte of s every gap until it is written or the peer goes.
func trickle(c net.Conn, s string, gap time.Duration) {
	for i := range len(s) {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(gap)
	}
}

// TestReliability_MisbehavingTargets fires, every second for 15 s, two
// schedules at each kind of target that misbehaves: one that never answers,
// one that trickles its head or its body, endless and gigabyte bodies, a
// redirect loop, a reset in the middle of the body, a close before any
// answer, bytes that are not HTTP, an untrusted certificate, and thousands
// of response headers. Every run must be classified as its kind demands,
// and the process's resident memory must stay under 150 MB and level.
func TestReliability_MisbehavingTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("fires at misbehaving targets for 15 s: long end-to-end test; run without -short")
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt()
	sinkLog := histcheck.NewLog(nil)
	serve := func(h http.HandlerFunc) string {
		ts := httptest.NewServer(histcheck.Record(sinkLog, h))
		t.Cleanup(ts.Close)
		t.Cleanup(halt) // runs first: handlers waiting on stop return
		return ts.URL
	}
	hang := serve(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	trickleBody := serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-stop:
				return
			}
		}
	})
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
	endless := serve(func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	gigabyte := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		for n := 0; n < 1<<30; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	// The redirect loop logs only each request's first hop: Go's client
	// repeats the X-Apicron-* headers on every redirect it follows.
	var loop string
	loopSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/again") {
			logRequest(sinkLog, r)
		}
		http.Redirect(w, r, loop+"/again", http.StatusFound)
	}))
	t.Cleanup(loopSrv.Close)
	loop = loopSrv.URL
	tlsSrv := httptest.NewUnstartedServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes apicron refuses
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	trickleHead := rawTarget(t, sinkLog, func(c net.Conn) {
		trickle(c, "HTTP/1.1 200 OK\r\nX-Slow: "+strings.Repeat("z", 100)+"\r\n\r\n", 100*time.Millisecond)
	})
	resetMidBody := rawTarget(t, sinkLog, func(c net.Conn) {
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"))
		_, _ = c.Write(chunk)
		_ = c.(*net.TCPConn).SetLinger(0) // close with a RST
	})
	closeEarly := rawTarget(t, sinkLog, func(c net.Conn) {})
	// Responses with thousands of headers, built once: the target must not
	// be what slows the rounds down.
	withHeaders := func(n int, value string) string {
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n")
		for i := range n {
			fmt.Fprintf(&b, "X-Header-%d: %s\r\n", i, value)
		}
		b.WriteString("\r\nok")
		return b.String()
	}
	many, tooMany := withHeaders(3000, "value"), withHeaders(20000, "a value that takes some room")
	manyHeaders := rawTarget(t, sinkLog, func(c net.Conn) { _, _ = io.WriteString(c, many) })
	tooManyHeaders := rawTarget(t, sinkLog, func(c net.Conn) { _, _ = io.WriteString(c, tooMany) })
	notHTTP := rawTarget(t, sinkLog, func(c net.Conn) {
		_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n"))
	})

	classes := []struct {
		name              string
		url               string
		timeout           float64
		status, errorType string
	}{
		{"hang", hang, 0.5, "TIMEOUT", "timeout"},
		{"trickled head", trickleHead, 1, "TIMEOUT", "timeout"},
		{"trickled body", trickleBody, 1, "TIMEOUT", "timeout"},
		{"endless body", endless, 5, "FAILED", "body_too_large"},
		{"gigabyte body", gigabyte, 5, "FAILED", "body_too_large"},
		{"redirect loop", loop, 5, "FAILED", "redirect_limit"},
		{"reset mid-body", resetMidBody, 5, "CONNECTION_ERROR", "connection"},
		{"closed before answering", closeEarly, 5, "CONNECTION_ERROR", "connection"},
		{"not HTTP", notHTTP, 5, "FAILED", "other"},
		{"untrusted certificate", tlsSrv.URL, 5, "CONNECTION_ERROR", "tls"},
		{"3000 headers", manyHeaders, 5, "SUCCESS", ""},
		{"headers over 256 KiB", tooManyHeaders, 5, "FAILED", "other"},
	}

	bin := buildBinary(t)
	db := t.TempDir() + "/targets.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=10s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	s := &server{url: url}
	class := map[int64]int{} // schedule id -> class
	for i, c := range classes {
		tid := createTarget(t, s, map[string]any{"name": c.name, "url": c.url, "timeout_seconds": c.timeout})
		for k := range 2 {
			id := createSchedule(t, s, map[string]any{"name": fmt.Sprintf("%s %d", c.name, k), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
			class[id] = i
		}
	}

	const rounds = 15 // seconds
	var rss []int64
	for range rounds {
		time.Sleep(time.Second)
		b, err := rssBytes(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("read the process's RSS: %v", err)
		}
		rss = append(rss, b)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}

	ro := openReadOnly(t, db)
	defer ro.Close()
	f := checkDatabase(t, ro, 1<<62, noRebind)
	requireSound(t, "after the misbehaving targets", f)
	requireHistory(t, ro, "sqlite", sinkLog)
	rows, err := ro.Query(`SELECT schedule_id, status, error_type, error_message FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	per := make([]int, len(classes))
	for rows.Next() {
		var id int64
		var status, errType, msg string
		if err := rows.Scan(&id, &status, &errType, &msg); err != nil {
			t.Fatal(err)
		}
		c := classes[class[id]]
		per[class[id]]++
		if status != c.status || errType != c.errorType {
			t.Errorf("%s: run %s %q (%s), want %s %q", c.name, status, errType, msg, c.status, c.errorType)
		}
	}
	rows.Close()
	var summary []string
	for i, c := range classes {
		if per[i] < rounds/2 {
			t.Errorf("%s: %d runs in %d s from 2 schedules at 1 s", c.name, per[i], rounds)
		}
		summary = append(summary, fmt.Sprintf("%s %d", c.name, per[i]))
	}

	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	peak, early, late := int64(0), int64(0), int64(0)
	for i, b := range rss {
		peak = max(peak, b)
		if i < rounds/3 {
			early = max(early, b)
		}
		if i >= rounds-rounds/3 {
			late = max(late, b)
		}
	}
	const limit = 150 << 20
	if peak > limit {
		t.Errorf("RSS peaked at %.1f MB, want under %.0f MB", mb(peak), mb(limit))
	}
	// Level: the last third of the rounds needs no more memory than the
	// first third did, give or take what a garbage-collected heap floats by.
	if late > early+early/2+(16<<20) {
		t.Errorf("RSS grows: %.1f MB in the first rounds, %.1f MB in the last", mb(early), mb(late))
	}
	var perRound []string
	for _, b := range rss {
		perRound = append(perRound, fmt.Sprintf("%.0f", mb(b)))
	}
	t.Logf("runs per class: %s; all classified as expected; RSS MB per second %s (peak %.1f, first third %.1f, last third %.1f)",
		strings.Join(summary, ", "), strings.Join(perRound, " "), mb(peak), mb(early), mb(late))
}
