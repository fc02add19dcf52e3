package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

func TestExecute_Classification(t *testing.T) {
	t.Parallel()
	const capBytes = 256 << 10
	tests := []struct {
		name     string
		url      func(t *testing.T) string
		timeout  time.Duration
		status   apicron.RunStatus
		errType  string
		bound    time.Duration
		check    func(t *testing.T, res apicron.RunResult)
		statuses []apicron.RunStatus // accepted instead of status, when the OS decides
	}{
		{
			name: "200",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("X-Secret", "s3cr3t")
				_, _ = io.WriteString(w, "hello")
			}),
			status: apicron.Success,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.StatusCode == nil || *res.StatusCode != 200 {
					t.Errorf("status code = %v, want 200", ptrStr(res.StatusCode))
				}
				if res.ResponseSize == nil || *res.ResponseSize != 5 {
					t.Errorf("response size = %v, want 5", ptrStr(res.ResponseSize))
				}
				if res.ResponseBody != "hello" {
					t.Errorf("body = %q, want hello", res.ResponseBody)
				}
				if res.LatencyMs == nil || *res.LatencyMs <= 0 {
					t.Errorf("latency = %v, want > 0", ptrStr(res.LatencyMs))
				}
				if res.Timings.FirstByteMs == nil || res.Timings.ConnectMs == nil {
					t.Errorf("timings = %+v, want first byte and connect", res.Timings)
				}
				if res.Timings.TLSMs != nil || res.Timings.DNSMs != nil {
					t.Errorf("timings = %+v, want no TLS nor DNS on a plain loopback IP", res.Timings)
				}
				want := map[string]string{"Content-Type": "text/plain", "ETag": `"v1"`, "Content-Length": "5"}
				for k, v := range want {
					if res.ResponseHeaders[k] != v {
						t.Errorf("header %s = %q, want %q", k, res.ResponseHeaders[k], v)
					}
				}
				if _, ok := res.ResponseHeaders["X-Secret"]; ok {
					t.Errorf("unselected header kept: %v", res.ResponseHeaders)
				}
				if res.ErrorType != "" || res.ErrorMessage != "" {
					t.Errorf("error = %q %q, want none", res.ErrorType, res.ErrorMessage)
				}
			},
		},
		{
			name:    "404",
			url:     serve(http.NotFound),
			status:  apicron.Failed,
			errType: apicron.ErrHTTP4xx,
			check:   wantMessage("HTTP 404 Not Found"),
		},
		{
			name: "500",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			}),
			status:  apicron.Failed,
			errType: apicron.ErrHTTP5xx,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.ResponseBody != "boom\n" {
					t.Errorf("body = %q", res.ResponseBody)
				}
			},
		},
		{
			name: "304 not followed",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotModified)
			}),
			status:  apicron.Failed,
			errType: apicron.ErrOther,
		},
		{
			name:    "closed port",
			url:     closedPortURL,
			status:  apicron.ConnectionError,
			errType: apicron.ErrConnection,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.StatusCode != nil || res.ResponseSize != nil {
					t.Errorf("status code %v size %v, want none", ptrStr(res.StatusCode), ptrStr(res.ResponseSize))
				}
				if !strings.Contains(res.ErrorMessage, "refused") || strings.Contains(res.ErrorMessage, "http://") {
					t.Errorf("message = %q, want the refusal without the URL", res.ErrorMessage)
				}
			},
		},
		{
			name: "hangs past timeout",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}),
			timeout: 200 * time.Millisecond,
			status:  apicron.Timeout,
			errType: apicron.ErrTimeout,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.LatencyMs == nil || *res.LatencyMs < 190 {
					t.Errorf("latency = %v, want about the timeout", ptrStr(res.LatencyMs))
				}
				wantMessage("timed out after 200ms")(t, res)
			},
		},
		{
			name:    "dns",
			url:     func(*testing.T) string { return "http://nothing.invalid/path" },
			status:  apicron.DNSError,
			errType: apicron.ErrDNS,
			check: func(t *testing.T, res apicron.RunResult) {
				if !strings.HasPrefix(res.ErrorMessage, "lookup nothing.invalid") {
					t.Errorf("message = %q", res.ErrorMessage)
				}
			},
		},
		{
			name: "untrusted tls",
			url: func(t *testing.T) string {
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				srv.StartTLS()
				t.Cleanup(srv.Close)
				return srv.URL
			},
			status:  apicron.ConnectionError,
			errType: apicron.ErrTLS,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.Timings.TLSMs == nil {
					t.Errorf("no TLS timing for a failed handshake")
				}
			},
		},
		{
			name: "https to a plain HTTP port",
			url: func(t *testing.T) string {
				return "https://" + mustServer(t, func(w http.ResponseWriter, r *http.Request) {}).Listener.Addr().String() + "/?key=s3cret"
			},
			status:  apicron.ConnectionError,
			errType: apicron.ErrTLS,
			check:   wantMessage("http: server gave HTTP response to HTTPS client"),
		},
		{
			name: "https to a port that speaks neither",
			url: func(t *testing.T) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				t.Cleanup(func() { ln.Close(); <-done })
				go func() {
					defer close(done)
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
						c.Close()
					}
				}()
				return "https://" + ln.Addr().String() + "/"
			},
			status:  apicron.ConnectionError,
			errType: apicron.ErrTLS,
		},
		{
			name: "redirect loop",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/again", http.StatusFound)
			}),
			status:  apicron.Failed,
			errType: apicron.ErrRedirectLimit,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.StatusCode == nil || *res.StatusCode != 302 || res.ResponseHeaders["Location"] != "/again" {
					t.Errorf("status %v headers %v, want the last 302", ptrStr(res.StatusCode), res.ResponseHeaders)
				}
				wantMessage("stopped after 10 redirects")(t, res)
			},
		},
		{
			name: "ten redirects followed",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				var n int
				_, _ = fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n)
				if n < MaxRedirects {
					http.Redirect(w, r, fmt.Sprintf("/?n=%d", n+1), http.StatusTemporaryRedirect)
					return
				}
				_, _ = io.WriteString(w, "arrived")
			}),
			status: apicron.Success,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.ResponseBody != "arrived" {
					t.Errorf("body = %q", res.ResponseBody)
				}
			},
		},
		{
			name: "endless body",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("x", 32<<10))
				for {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}),
			status:  apicron.Failed,
			errType: apicron.ErrBodyTooLarge,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.ResponseSize == nil || *res.ResponseSize != capBytes {
					t.Errorf("size = %v, want the cap %d", ptrStr(res.ResponseSize), capBytes)
				}
				if len(res.ResponseBody) != apicron.MaxStoredBody {
					t.Errorf("stored %d bytes, want %d", len(res.ResponseBody), apicron.MaxStoredBody)
				}
				if !strings.Contains(res.ErrorMessage, "reading stopped") {
					t.Errorf("message = %q, want the cut noted", res.ErrorMessage)
				}
			},
		},
		{
			name: "trickling body",
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					if _, err := io.WriteString(w, "x"); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
					}
				}
			}),
			timeout: 200 * time.Millisecond,
			status:  apicron.Timeout,
			errType: apicron.ErrTimeout,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.StatusCode == nil || *res.StatusCode != 200 {
					t.Errorf("status code = %v, want the 200 that started", ptrStr(res.StatusCode))
				}
				if res.ResponseSize == nil || *res.ResponseSize == 0 || !strings.HasPrefix(res.ResponseBody, "x") {
					t.Errorf("size %v body %q, want what trickled in", ptrStr(res.ResponseSize), res.ResponseBody)
				}
				wantMessage("timed out after 200ms reading the response body")(t, res)
			},
		},
		{
			name: "closed mid-body",
			url: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
				_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nhalf a body")
				rw.Flush()
				c.Close()
			}),
			status:  apicron.ConnectionError,
			errType: apicron.ErrConnection,
			check: func(t *testing.T, res apicron.RunResult) {
				if res.StatusCode == nil || *res.StatusCode != 200 || res.ResponseBody != "half a body" {
					t.Errorf("status %v body %q", ptrStr(res.StatusCode), res.ResponseBody)
				}
				wantMessage("read response body: unexpected EOF")(t, res)
			},
		},
		{
			name: "reset mid-body",
			url: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
				_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
				rw.Flush()
				_ = c.(*net.TCPConn).SetLinger(0) // close with RST
				c.Close()
			}),
			status:  apicron.ConnectionError,
			errType: apicron.ErrConnection,
		},
		{
			name: "closed before answering",
			url: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
				c.Close()
			}),
			status:  apicron.ConnectionError,
			errType: apicron.ErrConnection,
			check:   wantMessage("connection closed before a response (EOF)"),
		},
		{
			name: "not http",
			url: hijack(func(c net.Conn, rw *bufio.ReadWriter) {
				_, _ = rw.WriteString("SSH-2.0-OpenSSH_9.6\r\n\r\n")
				rw.Flush()
				c.Close()
			}),
			status:  apicron.Failed,
			errType: apicron.ErrOther,
		},
	}
	e := New(Config{MaxResponseBytes: capBytes})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newTestJob(tt.url(t))
			if tt.timeout > 0 {
				job.Timeout = tt.timeout
			}
			res := execute(t, e, job, 3*time.Second)
			t.Logf("%s %s %q code=%s size=%s latency=%s", res.Status, res.ErrorType, res.ErrorMessage,
				ptrStr(res.StatusCode), ptrStr(res.ResponseSize), ptrStr(res.LatencyMs))
			if res.Status != tt.status || res.ErrorType != tt.errType {
				t.Fatalf("got %s %q (%s), want %s %q", res.Status, res.ErrorType, res.ErrorMessage, tt.status, tt.errType)
			}
			if len(res.Attempts) != 1 || res.Attempts[0].Status != res.Status || res.Attempts[0].Number != 1 {
				t.Errorf("attempts = %+v, want one matching the run", res.Attempts)
			}
			if res.RunID != job.RunID || res.ScheduleID != job.ScheduleID || res.Request.Method != "GET" || res.Request.URL != job.URL {
				t.Errorf("identity = %d %d %+v", res.RunID, res.ScheduleID, res.Request)
			}
			if res.StartedAt.IsZero() || res.FinishedAt.Before(res.StartedAt) {
				t.Errorf("started %s finished %s", res.StartedAt, res.FinishedAt)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

// serve returns a url func for a loopback server running h.
func serve(h http.HandlerFunc) func(t *testing.T) string {
	return func(t *testing.T) string { return mustServer(t, h).URL + "/" }
}

// hijack returns a url func for a server that hands the raw connection to f.
func hijack(f func(net.Conn, *bufio.ReadWriter)) func(t *testing.T) string {
	return serve(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		f(c, rw)
	})
}

func wantMessage(want string) func(t *testing.T, res apicron.RunResult) {
	return func(t *testing.T, res apicron.RunResult) {
		t.Helper()
		if res.ErrorMessage != want {
			t.Errorf("message = %q, want %q", res.ErrorMessage, want)
		}
	}
}

func ptrStr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func TestExecute_TLSWithTrustedTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure")
	}))
	t.Cleanup(srv.Close)
	e := New(Config{Transport: srv.Client().Transport})
	res := execute(t, e, newTestJob(srv.URL), 3*time.Second)
	if res.Status != apicron.Success || res.ResponseBody != "secure" {
		t.Fatalf("got %s %q %q", res.Status, res.ErrorMessage, res.ResponseBody)
	}
	if res.Timings.TLSMs == nil {
		t.Errorf("no TLS timing")
	}
}

func TestExecute_RequestCarriesRunAndTemplates(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, query, body string
		header              http.Header
		host                string
	}
	got := make(chan seen, 1)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RawQuery, string(b), r.Header.Clone(), r.Host}
	})
	job := newTestJob(srv.URL + "/hook?run={{.RunID}}&at={{.ScheduledAt}}&target={{.TargetID}}")
	job.Method = "POST"
	job.Headers = map[string]string{
		"x-schedule":       "{{.ScheduleName}}-{{.ScheduleID}}",
		"Content-Type":     "application/json",
		"X-Apicron-Run-Id": "forged",
		"Host":             "example.test",
	}
	job.BodyTemplate = `{"attempt":{{.Attempt}},"now":"{{.Now}}"}`
	clock := storetest.NewClock(time.Date(2025, 6, 7, 8, 9, 10, 11e6, time.UTC))
	e := New(Config{Now: clock.Now})
	res := execute(t, e, job, 3*time.Second)
	if res.Status != apicron.Success {
		t.Fatalf("status %s %s", res.Status, res.ErrorMessage)
	}
	r := <-got
	const at = "2025-01-02T02:04:05.006Z"
	if r.method != "POST" || r.query != "run=70&at="+at+"&target=50" {
		t.Errorf("method %s query %q", r.method, r.query)
	}
	if want := `{"attempt":1,"now":"2025-06-07T08:09:10.011Z"}`; r.body != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	wantHeaders := map[string]string{
		"X-Schedule":             "nightly-30",
		"Content-Type":           "application/json",
		"X-Apicron-Run-Id":       "70",
		"X-Apicron-Schedule-Id":  "30",
		"X-Apicron-Scheduled-At": at,
		"X-Apicron-Attempt":      "1",
		"User-Agent":             "apicron/" + apicron.Version,
	}
	for k, v := range wantHeaders {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if r.host != "example.test" {
		t.Errorf("host = %q", r.host)
	}
	if res.Request.URL != srv.URL+"/hook?run=70&at="+at+"&target=50" || res.Request.Method != "POST" {
		t.Errorf("request = %+v, want the rendered URL", res.Request)
	}
}

func TestExecute_NoBodyAndOwnUserAgent(t *testing.T) {
	t.Parallel()
	type seen struct {
		ua     string
		length int64
		te     []string
	}
	got := make(chan seen, 1)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.UserAgent(), r.ContentLength, r.TransferEncoding}
	})
	job := newTestJob(srv.URL)
	job.Method = "DELETE"
	job.Headers = map[string]string{"user-agent": "mine/1"}
	res := execute(t, New(Config{}), job, 3*time.Second)
	if res.Status != apicron.Success {
		t.Fatalf("status %s %s", res.Status, res.ErrorMessage)
	}
	r := <-got
	if r.ua != "mine/1" || r.length != 0 || len(r.te) != 0 {
		t.Errorf("got %+v, want the target's agent and no body", r)
	}
}

func TestExecute_TemplateFailureSendsNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	tests := []struct {
		name string
		edit func(j *apicron.Job)
		want string
	}{
		{"url missing field", func(j *apicron.Job) { j.URL += "?x={{.Missing}}" }, `template does not execute: template: url:1:`},
		{"header does not parse", func(j *apicron.Job) { j.Headers = map[string]string{"X-Key": "{{.RunID"} }, `template does not parse: template: headers.X-Key:1:`},
		{"body missing field", func(j *apicron.Job) { j.BodyTemplate = "{{.Nope}}" }, `template does not execute: template: body_template:1:2:`},
	}
	e := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newTestJob(srv.URL + "/")
			job.MaxRetries = 3
			tt.edit(job)
			res := execute(t, e, job, time.Second)
			if res.Status != apicron.Failed || res.ErrorType != apicron.ErrTemplate {
				t.Fatalf("got %s %s", res.Status, res.ErrorType)
			}
			if !strings.HasPrefix(res.ErrorMessage, tt.want) {
				t.Errorf("message = %q, want prefix %q", res.ErrorMessage, tt.want)
			}
			if len(res.Attempts) != 1 || res.LatencyMs != nil || res.StatusCode != nil {
				t.Errorf("attempts %d latency %v code %v, want one attempt and no request", len(res.Attempts), ptrStr(res.LatencyMs), ptrStr(res.StatusCode))
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("target hit %d times, want 0", n)
	}
}

func TestExecute_DecryptErrorSendsNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	job := newTestJob(srv.URL + "/")
	job.MaxRetries = 3
	job.Headers = map[string]string{"Authorization": "", "X-Plain": "1"}
	job.DecryptError = "secret header Authorization cannot be decrypted: SECRET_KEY missing or wrong"
	res := execute(t, New(Config{}), job, time.Second)
	if res.Status != apicron.Failed || res.ErrorType != apicron.ErrOther || res.ErrorMessage != job.DecryptError {
		t.Fatalf("got %s %s %q", res.Status, res.ErrorType, res.ErrorMessage)
	}
	if len(res.Attempts) != 1 || res.Attempts[0].ErrorMessage != job.DecryptError || res.StatusCode != nil ||
		res.Request.Method != "GET" || res.StartedAt.IsZero() || res.FinishedAt.IsZero() {
		t.Errorf("result %+v, want one attempt and no request", res)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("target hit %d times, want 0", n)
	}
}

// scripted serves the given status codes in turn, then 200, and records the
// X-Apicron-Attempt of each request.
func scripted(t *testing.T, header http.Header, codes ...int) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var attempts []string
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(attempts)
		attempts = append(attempts, r.Header.Get("X-Apicron-Attempt"))
		mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if n < len(codes) {
			w.WriteHeader(codes[n])
		}
	})
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), attempts...)
	}
}

func TestExecute_Retries(t *testing.T) {
	t.Parallel()
	t.Run("500 twice then 200", func(t *testing.T) {
		t.Parallel()
		srv, attempts := scripted(t, nil, 500, 500)
		fs := newFakeSleep()
		e := New(Config{Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 0.5 }})
		job := newTestJob(srv.URL)
		job.MaxRetries = 3
		res := execute(t, e, job, 3*time.Second)
		if res.Status != apicron.Success || len(res.Attempts) != 3 {
			t.Fatalf("got %s with %d attempts, want SUCCESS after 3", res.Status, len(res.Attempts))
		}
		for i, a := range res.Attempts {
			want := []apicron.RunStatus{apicron.Failed, apicron.Failed, apicron.Success}[i]
			if a.Number != i+1 || a.Status != want {
				t.Errorf("attempt %d = %d %s, want %s", i, a.Number, a.Status, want)
			}
		}
		if got := attempts(); strings.Join(got, ",") != "1,2,3" {
			t.Errorf("X-Apicron-Attempt seen %v", got)
		}
		if got, want := fs.Waits(), []time.Duration{375 * time.Millisecond, 750 * time.Millisecond}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("waits = %v, want %v", got, want)
		}
		if !res.StartedAt.Equal(res.Attempts[0].StartedAt) || !res.FinishedAt.Equal(res.Attempts[2].FinishedAt) {
			t.Errorf("run spans %s..%s, attempts %s..%s", res.StartedAt, res.FinishedAt, res.Attempts[0].StartedAt, res.Attempts[2].FinishedAt)
		}
		if res.ErrorType != "" || *res.StatusCode != 200 {
			t.Errorf("top level = %s %d, want the last attempt's", res.ErrorType, *res.StatusCode)
		}
	})
	t.Run("404 not retried", func(t *testing.T) {
		t.Parallel()
		srv, attempts := scripted(t, nil, 404, 404)
		fs := newFakeSleep()
		job := newTestJob(srv.URL)
		job.MaxRetries = 3
		res := execute(t, New(Config{Sleep: fs.Sleep}), job, 3*time.Second)
		if res.ErrorType != apicron.ErrHTTP4xx || len(res.Attempts) != 1 || len(attempts()) != 1 || len(fs.Waits()) != 0 {
			t.Errorf("got %s after %d attempts, waits %v", res.ErrorType, len(res.Attempts), fs.Waits())
		}
	})
	t.Run("429 honours Retry-After", func(t *testing.T) {
		t.Parallel()
		srv, _ := scripted(t, http.Header{"Retry-After": {"2"}}, 429)
		fs := newFakeSleep()
		job := newTestJob(srv.URL)
		job.MaxRetries = -1 // the executor's default
		e := New(Config{MaxRetries: 1, Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 0 }})
		res := execute(t, e, job, 3*time.Second)
		if res.Status != apicron.Success || len(res.Attempts) != 2 {
			t.Fatalf("got %s after %d attempts", res.Status, len(res.Attempts))
		}
		if w := fs.Waits(); len(w) != 1 || w[0] < 2*time.Second {
			t.Errorf("waits = %v, want one of at least 2s", w)
		}
	})
	t.Run("Retry-After too long stops", func(t *testing.T) {
		t.Parallel()
		srv, _ := scripted(t, http.Header{"Retry-After": {"3600"}}, 503)
		fs := newFakeSleep()
		job := newTestJob(srv.URL)
		job.MaxRetries = 2
		res := execute(t, New(Config{Sleep: fs.Sleep}), job, 3*time.Second)
		if res.ErrorType != apicron.ErrHTTP5xx || len(res.Attempts) != 1 || res.ResponseHeaders["Retry-After"] != "3600" {
			t.Errorf("got %s after %d attempts, headers %v", res.ErrorType, len(res.Attempts), res.ResponseHeaders)
		}
	})
	t.Run("RetryDeadline stops retries", func(t *testing.T) {
		t.Parallel()
		srv, attempts := scripted(t, nil, 500, 500, 500, 500, 500)
		fs := newFakeSleep()
		job := newTestJob(srv.URL)
		job.MaxRetries = 5
		job.RetryDeadline = fs.Now().Add(time.Second)
		e := New(Config{Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 0.5 }})
		res := execute(t, e, job, 3*time.Second)
		// 375ms fits before the deadline; 375+750ms does not.
		if len(res.Attempts) != 2 || len(attempts()) != 2 || res.ErrorType != apicron.ErrHTTP5xx {
			t.Errorf("got %s after %d attempts, waits %v", res.ErrorType, len(res.Attempts), fs.Waits())
		}
	})
	t.Run("connection errors retried, tls not", func(t *testing.T) {
		t.Parallel()
		fs := newFakeSleep()
		e := New(Config{Sleep: fs.Sleep, Rand: func() float64 { return 0 }})
		job := newTestJob(closedPortURL(t))
		job.MaxRetries = 2
		if res := execute(t, e, job, 3*time.Second); len(res.Attempts) != 3 || res.Status != apicron.ConnectionError {
			t.Errorf("refused: %s after %d attempts", res.Status, len(res.Attempts))
		}
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		job = newTestJob(srv.URL)
		job.MaxRetries = 2
		if res := execute(t, e, job, 3*time.Second); len(res.Attempts) != 1 || res.ErrorType != apicron.ErrTLS {
			t.Errorf("tls: %s after %d attempts", res.ErrorType, len(res.Attempts))
		}
	})
	t.Run("cancel stops retrying", func(t *testing.T) {
		t.Parallel()
		srv, attempts := scripted(t, nil, 500, 500, 500)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e := New(Config{Sleep: func(ctx context.Context, d time.Duration) error {
			cancel() // shutdown arrives while waiting
			return sleepContext(ctx, d)
		}})
		job := newTestJob(srv.URL)
		job.MaxRetries = 3
		res := e.Execute(ctx, job)
		if len(res.Attempts) != 1 || len(attempts()) != 1 || res.ErrorType != apicron.ErrHTTP5xx {
			t.Errorf("got %s after %d attempts", res.ErrorType, len(res.Attempts))
		}
	})
}

func TestExecute_CancelInterruptsAttempt(t *testing.T) {
	t.Parallel()
	for _, inBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("in body %v", inBody), func(t *testing.T) {
			t.Parallel()
			arrived := make(chan struct{})
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				if inBody {
					_, _ = io.WriteString(w, "partial")
					w.(http.Flusher).Flush()
				}
				close(arrived)
				<-r.Context().Done()
			})
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-arrived
				cancel()
			}()
			job := newTestJob(srv.URL)
			job.Timeout = 10 * time.Second
			job.MaxRetries = 3
			start := time.Now()
			res := New(Config{}).Execute(ctx, job)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s after cancel", d)
			}
			if res.Status != apicron.Interrupted || res.ErrorType != apicron.ErrInterrupted || len(res.Attempts) != 1 {
				t.Errorf("got %s %s (%s) after %d attempts", res.Status, res.ErrorType, res.ErrorMessage, len(res.Attempts))
			}
		})
	}
}

func TestExecute_ReusedConnectionHasNoDialTimings(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := New(Config{})
	first := execute(t, e, newTestJob(srv.URL), 3*time.Second)
	if first.Timings.ConnectMs == nil {
		t.Errorf("first request: no connect timing")
	}
	// The transport returns a connection to its pool just after the body is
	// read, on its own goroutine, so the next request may still dial; one of
	// a few in a row reuses it.
	for range 10 {
		res := execute(t, e, newTestJob(srv.URL), 3*time.Second)
		if res.Timings.ConnectMs == nil && res.Timings.DNSMs == nil && res.Timings.FirstByteMs != nil {
			return
		}
	}
	t.Errorf("no request reported a reused connection (no connect timing, a first byte)")
}

func TestExecute_BadRenderedHeaderLeaksNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	job := newTestJob(srv.URL + "/?key=s3cret")
	job.ScheduleName = "two\nlines"
	job.Headers = map[string]string{"Authorization": "Bearer s3cret {{.ScheduleName}}"}
	res := execute(t, New(Config{}), job, 3*time.Second)
	if res.Status != apicron.Failed || res.ErrorType != apicron.ErrOther || hits.Load() != 0 {
		t.Fatalf("got %s %s, %d requests", res.Status, res.ErrorType, hits.Load())
	}
	if strings.Contains(res.ErrorMessage, "s3cret") || !strings.Contains(res.ErrorMessage, "Authorization") {
		t.Errorf("message = %q, want the header's name and not its value", res.ErrorMessage)
	}
}

// TestExecute_SecretHeaderTemplateLeaksNothing: text/template's errors
// quote the action at fault, so a secret header's failing template would
// show part of the secret in the run's error_message, which a read-only
// token reads, and in the debug log. Only its name is reported.
func TestExecute_SecretHeaderTemplateLeaksNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	// Each renders nothing wrong with the sample data (run 1) and fails on run 70.
	const quoted = `Bearer {{if ne .RunID 1}}{{index "s3cretvalue" 99}}{{end}}`
	tests := []struct {
		name, header, value string
		secret              []string
		want                string // the message, or its prefix for a header that is not secret
	}{
		{"a default secret", "authorization", quoted, nil, "template of secret header authorization failed"},
		{"the target's own secret", "X-Signature", quoted, []string{"x-signature"}, "template of secret header X-Signature failed"},
		{"a missing field", "X-Api-Key", `{{if eq .RunID 99999}}{{.Missing}}{{end}}s3cretvalue{{.Nope}}`, nil, "template of secret header X-Api-Key failed"},
		{"a parse error", "Cookie", "s={{s3cretvalue}}", nil, "template of secret header Cookie failed"},
		{"a cap, named", "Authorization", `{{if ne .RunID 1}}` + strings.Repeat(`{{printf "%065000d" 0}}`, 2) + `{{end}}s3cretvalue`, nil,
			"template of secret header Authorization failed: " + apicron.ErrHeadersTooLarge.Error()},
		{"not secret: the error as it is", "X-Plain", quoted, nil, `template does not execute: template: headers.X-Plain:1:27: executing "headers.X-Plain" at <index "s3cretvalue" 99>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logged bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
			job := newTestJob(srv.URL + "/")
			job.Headers = map[string]string{tt.header: tt.value, "X-Other": "{{.RunID}}"}
			job.SecretHeaders = tt.secret
			res := execute(t, New(Config{Logger: logger}), job, 3*time.Second)
			if res.Status != apicron.Failed || res.ErrorType != apicron.ErrTemplate {
				t.Fatalf("got %s %s %q, want FAILED template", res.Status, res.ErrorType, res.ErrorMessage)
			}
			if !strings.HasPrefix(res.ErrorMessage, tt.want) || (tt.header != "X-Plain" && res.ErrorMessage != tt.want) {
				t.Errorf("message %q, want %q", res.ErrorMessage, tt.want)
			}
			if tt.header == "X-Plain" {
				return
			}
			if strings.Contains(res.ErrorMessage, "s3cret") || strings.Contains(res.Attempts[0].ErrorMessage, "s3cret") {
				t.Errorf("the run shows the secret: %q", res.ErrorMessage)
			}
			if !strings.Contains(logged.String(), "attempt finished") || strings.Contains(logged.String(), "s3cret") {
				t.Errorf("the log shows the secret, or no attempt: %s", logged.String())
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("target hit %d times, want 0", n)
	}
}

func TestNew_Defaults(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	e := New(Config{DefaultTimeout: 100 * time.Millisecond, MaxRetries: 99})
	if e.maxRetries != apicron.MaxRetriesLimit || e.maxBody != DefaultMaxResponseBytes || e.userAgent != "apicron/"+apicron.Version {
		t.Errorf("defaults = %d %d %q", e.maxRetries, e.maxBody, e.userAgent)
	}
	job := newTestJob(srv.URL)
	job.Timeout = 0 // the executor's default
	res := execute(t, e, job, 2*time.Second)
	if res.Status != apicron.Timeout || res.ErrorMessage != "timed out after 100ms" {
		t.Errorf("got %s %q", res.Status, res.ErrorMessage)
	}
	if d := New(Config{}); d.timeout != DefaultTimeout {
		t.Errorf("default timeout = %s", d.timeout)
	}
}

// TestExecute_LogComponentOnce: the caller names the component, so a line
// logged through a logger named "executor" says so once.
func TestExecute_LogComponentOnce(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {})
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := New(Config{Logger: logger.With("component", "executor")})
	if res := execute(t, e, newTestJob(srv.URL), 5*time.Second); res.Status != apicron.Success {
		t.Fatalf("run %s %s", res.Status, res.ErrorMessage)
	}
	line := strings.TrimSpace(logged.String())
	if n := strings.Count(line, `"component":`); n != 1 || !strings.Contains(line, `"component":"executor"`) || !strings.Contains(line, `"msg":"attempt finished"`) {
		t.Errorf("logged %s: want one attempt line with one component attribute, executor (got %d)", line, n)
	}
	// A line about a run names its schedule and the run.
	var rec struct {
		RunID      *int64 `json:"run_id"`
		ScheduleID *int64 `json:"schedule_id"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.RunID == nil || *rec.RunID != 70 ||
		rec.ScheduleID == nil || *rec.ScheduleID != 30 {
		t.Errorf("logged %s: want run_id 70 and schedule_id 30 (%v)", line, err)
	}
}

// TestExecute_IdleConnectionsBounded: the connections kept idle after calls
// to many hosts are at most MaxIdleConns in all, so the descriptors the
// process keeps in reserve for its calls hold however many targets it calls.
func TestExecute_IdleConnectionsBounded(t *testing.T) {
	t.Parallel()
	const hosts, idle = 6, 2
	var mu sync.Mutex
	open := 0 // connections the targets have and have not seen closed
	track := func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	e := New(Config{MaxIdleConns: idle})
	for range hosts {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Config.ConnState = track
		srv.Start()
		t.Cleanup(srv.Close)
		if res := execute(t, e, newTestJob(srv.URL), 5*time.Second); res.Status != apicron.Success {
			t.Fatalf("call to %s: %+v", srv.URL, res.Outcome)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := open
		mu.Unlock()
		if n <= idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to %d hosts still open after the calls, want at most MaxIdleConns %d", n, hosts, idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A run records the target's own headers as sent: templates rendered,
// secret values masked (the default secret ones and the target's own),
// Host included; the headers every run carries are not repeated.
func TestExecute_RecordsRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() })
	job := newTestJob(srv.URL + "/")
	job.Headers = map[string]string{"Authorization": "Bearer s3cret", "X-Signature": "sig-{{.RunID}}", "X-Run": "run-{{.RunID}}"}
	job.SecretHeaders = []string{"x-signature"}
	res := execute(t, New(Config{}), job, 3*time.Second)
	if res.Status != apicron.Success {
		t.Fatalf("status %s %s", res.Status, res.ErrorMessage)
	}
	sent := <-got
	if sent.Get("X-Signature") != "sig-70" || sent.Get("Authorization") != "Bearer s3cret" {
		t.Fatalf("the target saw %v", sent)
	}
	want := map[string]string{"Authorization": apicron.MaskedValue, "X-Signature": apicron.MaskedValue, "X-Run": "run-70"}
	if fmt.Sprint(res.Request.Headers) != fmt.Sprint(want) {
		t.Fatalf("recorded headers %v, want %v", res.Request.Headers, want)
	}
	if bare := execute(t, New(Config{}), newTestJob(srv.URL+"/"), 3*time.Second); bare.Request.Headers != nil {
		t.Fatalf("a target without headers recorded %v", bare.Request.Headers)
	}
	<-got
}
