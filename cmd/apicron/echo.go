package main

// apicron echo: a target to try apicron on, without another server. It
// answers what a first schedule needs (a success, any status, a slow
// answer) and prints each request it receives, so that what apicron sends
// and when can be watched beside the API.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// Bounds of apicron echo.
const (
	// echoMaxDelay is the longest /delay/{ms}: a minute, longer than the
	// default timeout of a run.
	echoMaxDelay = 60 * time.Second
	// echoMaxBody is how much of a request body /get echoes: as much as a
	// target's body template may render.
	echoMaxBody = apicron.MaxRenderedBytes
)

// echoRoutes is what / answers: the routes and what they do.
const echoRoutes = `apicron echo: a target to try apicron on.

  /get            200, and the request it received as JSON: method, path,
                  query, headers and body (any method)
  /status/{code}  answers with that status, 100 to 599 (/status/503)
  /delay/{ms}     waits that many milliseconds, at most 60000, then 200
                  (/delay/1500)

Each request is printed on apicron echo's standard output with its
X-Apicron-* headers (run, schedule, occurrence, attempt).
`

// echoRequest is what /get answers: the request as it arrived.
type echoRequest struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   map[string][]string `json:"query"`
	Headers map[string]string   `json:"headers"` // repeated values joined with ", "
	Body    string              `json:"body"`
	// BodyTruncated says the body was longer than echoMaxBody bytes and
	// Body is its start.
	BodyTruncated bool `json:"body_truncated,omitempty"`
}

// newEchoHandler returns apicron echo's routes. It writes one line per
// request to out, when the request arrives: the time (from now), the
// method, the path with its query and the X-Apicron-* headers.
func newEchoHandler(out io.Writer, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/get", echoGet)
	mux.HandleFunc("/status/{code}", echoStatus)
	mux.HandleFunc("/delay/{ms}", echoDelay)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, echoRoutes)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		echoError(w, http.StatusNotFound, "no route "+r.URL.Path+"; the routes are /get, /status/{code} and /delay/{ms} (see /)")
	})
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := echoLogLine(now(), r)
		mu.Lock()
		_, _ = io.WriteString(out, line)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// echoLogLine is the line apicron echo prints for r, received at t.
func echoLogLine(t time.Time, r *http.Request) string {
	var b strings.Builder
	b.WriteString(t.UTC().Format(apicron.TimeFormat))
	b.WriteByte(' ')
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.URL.RequestURI())
	names := make([]string, 0, 4)
	for name := range r.Header {
		if strings.HasPrefix(name, "X-Apicron-") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, " %s=%s", name, strings.Join(r.Header[name], ","))
	}
	b.WriteByte('\n')
	return b.String()
}

func echoGet(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, echoMaxBody+1))
	if err != nil {
		echoError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	got := echoRequest{
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.Query(),
		Headers: make(map[string]string, len(r.Header)+1),
		Body:    string(body),
	}
	if len(body) > echoMaxBody {
		got.Body, got.BodyTruncated = string(body[:echoMaxBody]), true
	}
	for name, values := range r.Header {
		got.Headers[name] = strings.Join(values, ", ")
	}
	if r.Host != "" {
		got.Headers["Host"] = r.Host // Go keeps it out of r.Header
	}
	echoJSON(w, http.StatusOK, got)
}

func echoStatus(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 100 || code > 599 {
		echoError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want an integer from 100 to 599", r.PathValue("code")))
		return
	}
	// A 1xx is informational: Go sends it, then the final 200.
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	echoJSON(w, code, map[string]any{"status": code})
}

func echoDelay(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.PathValue("ms"))
	if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > echoMaxDelay {
		echoError(w, http.StatusBadRequest, fmt.Sprintf("delay %q: want milliseconds from 0 to %d", r.PathValue("ms"), echoMaxDelay.Milliseconds()))
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		echoJSON(w, http.StatusOK, map[string]any{"delayed_ms": ms})
	case <-r.Context().Done():
		// The caller gave up, or apicron echo is stopping.
	}
}

func echoJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func echoError(w http.ResponseWriter, code int, msg string) {
	echoJSON(w, code, map[string]string{"error": msg})
}

// runEcho is the command apicron echo [--host H] [--port P]: it serves
// newEchoHandler until ctx ends (SIGINT or SIGTERM), printing to stdout.
func runEcho(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("apicron echo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 9000, "TCP port to listen on, 0 picks a free one")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "Usage:\n  apicron echo [--host 127.0.0.1] [--port 9000]\n\n"+echoRoutes+
				"\nIt reads none of apicron's settings and stops on Ctrl-C (SIGINT) or SIGTERM.\n")
			return err
		}
		return fmt.Errorf("echo: %w (see apicron echo --help)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("echo: unexpected argument %q (see apicron echo --help)", fs.Arg(0))
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("echo: --port %d: want 0 to 65535", *port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("echo: listen (--host, --port): %w", err)
	}
	// Requests waiting in /delay end when apicron echo stops.
	reqCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{
		Handler:           newEchoHandler(stdout, time.Now),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "apicron echo listening on %s: %s/get, %s/status/{code}, %s/delay/{ms}; Ctrl-C stops it\n", url, url, url, url)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("echo: %w", err)
	case <-ctx.Done():
	}
	cancelRequests()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("echo: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("echo: stop: %w", err)
	}
	return nil
}
