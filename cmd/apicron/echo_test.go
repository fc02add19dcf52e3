package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/storetest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustEchoServer serves newEchoHandler on loopback, printing to out with
// a clock stopped at 2025-01-02T03:04:05.006Z.
func mustEchoServer(t *testing.T, out io.Writer) *httptest.Server {
	t.Helper()
	clock := storetest.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC))
	srv := httptest.NewServer(newEchoHandler(out, clock.Now))
	t.Cleanup(srv.Close)
	return srv
}

// fetch sends a request and returns the status and body.
func fetch(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

func TestEcho_Get(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	srv := mustEchoServer(t, &out)
	code, body := fetch(t, "POST", srv.URL+"/get?run=7&tag=a&tag=b", `{"hello":"world"}`, http.Header{
		"X-Apicron-Run-Id": {"7"}, "X-Apicron-Attempt": {"1"}, "X-Other": {"x", "y"},
	})
	if code != 200 {
		t.Fatalf("POST /get: %d %s", code, body)
	}
	var got echoRequest
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if got.Method != "POST" || got.Path != "/get" || got.Body != `{"hello":"world"}` || got.BodyTruncated ||
		strings.Join(got.Query["tag"], ",") != "a,b" || got.Query["run"][0] != "7" ||
		got.Headers["X-Apicron-Run-Id"] != "7" || got.Headers["X-Other"] != "x, y" || got.Headers["Host"] == "" {
		t.Errorf("/get answered %+v", got)
	}
	want := "2025-01-02T03:04:05.006Z POST /get?run=7&tag=a&tag=b X-Apicron-Attempt=1 X-Apicron-Run-Id=7\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}

	// A body past what a target can send is cut, and says so.
	_, body = fetch(t, "PUT", srv.URL+"/get", strings.Repeat("b", echoMaxBody+10), nil)
	got = echoRequest{}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Body) != echoMaxBody || !got.BodyTruncated {
		t.Errorf("a body of %d bytes: echoed %d bytes, truncated %v (%v)", echoMaxBody+10, len(got.Body), got.BodyTruncated, err)
	}
}

func TestEcho_Routes(t *testing.T) {
	t.Parallel()
	srv := mustEchoServer(t, io.Discard)
	tests := []struct {
		path     string
		wantCode int
		wantBody string // in the body
	}{
		{"/", 200, "/status/{code}"},
		{"/status/200", 200, `"status": 200`},
		{"/status/418", 418, `"status": 418`},
		{"/status/503", 503, `"status": 503`},
		{"/status/599", 599, `"status": 599`},
		{"/status/204", 204, ""},
		{"/status/102", 200, ""}, // informational, then the final 200
		{"/status/99", 400, "from 100 to 599"},
		{"/status/600", 400, "from 100 to 599"},
		{"/status/teapot", 400, "from 100 to 599"},
		{"/delay/0", 200, `"delayed_ms": 0`},
		{"/delay/20", 200, `"delayed_ms": 20`},
		{"/delay/60001", 400, "from 0 to 60000"},
		{"/delay/-1", 400, "from 0 to 60000"},
		{"/delay/soon", 400, "from 0 to 60000"},
		{"/nowhere", 404, "the routes are /get, /status/{code} and /delay/{ms}"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			code, body := fetch(t, "GET", srv.URL+tt.path, "", nil)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s: %d %q, want %d with %q", tt.path, code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

// TestEcho_DelayEndsWithTheCaller: a caller that gives up frees /delay
// at once; it does not hold a goroutine for the whole delay.
func TestEcho_DelayEndsWithTheCaller(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	h := newEchoHandler(io.Discard, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/delay/60000", nil)
	rec := httptest.NewRecorder()
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("/delay/60000 still waiting after its caller left")
	}
}

func TestRun_EchoFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"echo", "--help"}, nil, "", &out, io.Discard); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(out.String(), "apicron echo [--host 127.0.0.1] [--port 9000]") {
		t.Errorf("echo --help: %v %q", err, out.String())
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "--port", "99999"}, "want 0 to 65535"},
		{[]string{"echo", "--port", "http"}, "invalid value"},
		{[]string{"echo", "--database-url", "x.db"}, "flag provided but not defined"},
		{[]string{"echo", "extra"}, `unexpected argument "extra"`},
		{[]string{"echo", "--host", "256.0.0.1", "--port", "0"}, "listen"},
	} {
		err := run(context.Background(), tt.args, nil, "", io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// echoListenRE finds the address in apicron echo's first line.
var echoListenRE = regexp.MustCompile(`apicron echo listening on (http://\S+): `)

// startEcho starts the real apicron echo with args and extra environment,
// waits for its first line and returns the process, its address and what
// it prints.
func startEcho(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"echo"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := echoListenRE.FindStringSubmatch(out.String()); m != nil {
			return cmd, m[1], out
		}
		if time.Now().After(deadline) {
			t.Fatalf("apicron echo did not start: %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBinary_Echo runs the real apicron echo: it ignores the server's
// settings, answers and prints a request, and stops on SIGTERM with
// status 0.
func TestBinary_Echo(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	// Settings meant for the server, even invalid ones, do not move it.
	cmd, url, out := startEcho(t, bin, []string{"PORT=1", "DATABASE_URL=mysql://nowhere/db"}, "--port", "0")
	code, body := fetch(t, "GET", url+"/get?x=1", "", http.Header{"X-Apicron-Schedule-Id": {"3"}})
	if code != 200 || !strings.Contains(body, `"X-Apicron-Schedule-Id": "3"`) {
		t.Errorf("GET /get: %d %s", code, body)
	}
	// What the process prints reaches out through a pipe, maybe after the answer.
	line := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z GET /get\?x=1 X-Apicron-Schedule-Id=3$`)
	waitFor(t, 5*time.Second, "apicron echo to print a line for the request", func() bool { return line.MatchString(out.String()) })
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Errorf("apicron echo after SIGTERM: %v, want status 0", err)
	}
}
