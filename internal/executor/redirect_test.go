package executor

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// targetHeaders are the headers the redirect tests' targets define: the
// default secrets, a secret of the target's own, a plain one and an agent.
var targetHeaders = map[string]string{
	"Authorization": "Bearer s3cret-auth",
	"x-api-key":     "s3cret-key",
	"X-Signature":   "s3cret-sig",
	"X-Plain":       "plain-value",
	"User-Agent":    "mine/1",
}

// recorder is a loopback server that records what each request carried and
// answers with next (a redirect, say), or 200.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header // with the path under ":path", the host under ":host"
}

func newRecorder(t *testing.T, tls bool, next func(w http.ResponseWriter, r *http.Request) bool) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set(":path", r.URL.RequestURI())
		h.Set(":host", r.Host)
		rec.mu.Lock()
		rec.seen = append(rec.seen, h)
		rec.mu.Unlock()
		if next == nil || !next(w, r) {
			_, _ = io.WriteString(w, "arrived")
		}
	}))
	rec.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		rec.StartTLS()
	} else {
		rec.Start()
	}
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// redirectTo answers every request to path with a 307 to loc.
func redirectTo(path, loc string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
		return true
	}
}

// wantNoTargetHeaders fails if h holds any header the target defined, a
// Referer, or another agent than apicron's.
func wantNoTargetHeaders(t *testing.T, where string, h http.Header) {
	t.Helper()
	for name := range targetHeaders {
		if name == "User-Agent" {
			continue
		}
		if v := h.Values(name); len(v) != 0 {
			t.Errorf("%s: got %s: %q, want none of the target's headers", where, name, v)
		}
	}
	if v := h.Values("Referer"); len(v) != 0 {
		t.Errorf("%s: got Referer %q, want none", where, v)
	}
	if ua := h.Get("User-Agent"); ua != "apicron/"+apicron.Version {
		t.Errorf("%s: User-Agent %q, want apicron's own", where, ua)
	}
	if h.Get("X-Apicron-Run-Id") != "70" {
		t.Errorf("%s: X-Apicron-Run-Id %q, want apicron's headers kept", where, h.Get("X-Apicron-Run-Id"))
	}
}

func redirectJob(url string) *apicron.Job {
	job := newTestJob(url)
	job.Headers = targetHeaders
	job.SecretHeaders = []string{"X-Signature"}
	job.MaxRetries = 2
	return job
}

func TestExecute_RedirectToHTTPRefused(t *testing.T) {
	t.Parallel()
	plain := newRecorder(t, false, nil)
	// https(A) -> http(A): the same host, the same path and query, in plain.
	secure := newRecorder(t, true, redirectTo("/hook", plain.URL+"/hook?token=s3cret-query"))
	fs := newFakeSleep()
	e := New(Config{Transport: secure.Client().Transport, Sleep: fs.Sleep})
	res := execute(t, e, redirectJob(secure.URL+"/hook?token=s3cret-query"), 5*time.Second)
	if res.Status != apicron.Failed || res.ErrorType != apicron.ErrInsecureRedirect {
		t.Fatalf("got %s %q (%s), want FAILED insecure_redirect", res.Status, res.ErrorType, res.ErrorMessage)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("the http server got %d requests, want none", n)
	}
	if len(res.Attempts) != 1 || len(secure.requests()) != 1 || len(fs.Waits()) != 0 {
		t.Errorf("%d attempts, %d requests over https: want 1, not retried", len(res.Attempts), len(secure.requests()))
	}
	want := "refused a redirect from " + secure.URL + " to " + plain.URL + ": "
	if !strings.HasPrefix(res.ErrorMessage, want) || strings.Contains(res.ErrorMessage, "s3cret") || strings.Contains(res.ErrorMessage, "/hook") {
		t.Errorf("message %q: want it to start %q, with no path, query or secret", res.ErrorMessage, want)
	}
	if res.StatusCode == nil || *res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status code %s, want the 307 that was refused", ptrStr(res.StatusCode))
	}

	t.Run("allowed, without the target's headers", func(t *testing.T) {
		job := redirectJob(secure.URL + "/hook?token=s3cret-query")
		job.AllowInsecureRedirects = true
		res := execute(t, e, job, 5*time.Second)
		if res.Status != apicron.Success || res.ResponseBody != "arrived" {
			t.Fatalf("got %s %s (%s), want SUCCESS from the http server", res.Status, res.ErrorType, res.ErrorMessage)
		}
		got := plain.requests()
		if len(got) != 1 {
			t.Fatalf("the http server got %d requests, want 1", len(got))
		}
		wantNoTargetHeaders(t, "http hop", got[0])
	})
}

func TestExecute_RedirectToAnotherOrigin(t *testing.T) {
	t.Parallel()
	var first *recorder
	// B on another port of the same host: another origin. B redirects
	// within itself, then back to A: the headers stay off once they left.
	other := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/b1":
			http.Redirect(w, r, "/b2?n=2", http.StatusFound)
		case "/b2":
			http.Redirect(w, r, first.URL+"/back", http.StatusFound)
		default:
			return false
		}
		return true
	})
	// Scheme-relative, so that net/http would keep the Host the target set.
	first = newRecorder(t, false, redirectTo("/a", strings.TrimPrefix(other.URL, "http:")+"/b1"))
	job := redirectJob(first.URL + "/a?token=s3cret-query")
	job.Headers = map[string]string{"Host": "a.example"}
	for k, v := range targetHeaders {
		job.Headers[k] = v
	}
	res := execute(t, New(Config{}), job, 5*time.Second)
	if res.Status != apicron.Success {
		t.Fatalf("got %s %s (%s)", res.Status, res.ErrorType, res.ErrorMessage)
	}
	a, b := first.requests(), other.requests()
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("A got %d requests, B %d: want 2 each", len(a), len(b))
	}
	if a[0].Get("Authorization") != "Bearer s3cret-auth" || a[0].Get("X-Signature") != "s3cret-sig" || a[0].Get("User-Agent") != "mine/1" {
		t.Errorf("the first request lacks the target's headers: %v", a[0])
	}
	if a[0].Get(":host") != "a.example" || b[0].Get(":host") != other.Listener.Addr().String() {
		t.Errorf("Host %q at A, %q at B: want the target's at A only", a[0].Get(":host"), b[0].Get(":host"))
	}
	wantNoTargetHeaders(t, "B "+b[0].Get(":path"), b[0])
	wantNoTargetHeaders(t, "B "+b[1].Get(":path"), b[1])
	wantNoTargetHeaders(t, "A "+a[1].Get(":path"), a[1])
}

func TestExecute_RedirectWithinOrigin(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, false, redirectTo("/a", "/b"))
	res := execute(t, New(Config{}), redirectJob(srv.URL+"/a?token=s3cret-query"), 5*time.Second)
	if res.Status != apicron.Success {
		t.Fatalf("got %s %s (%s)", res.Status, res.ErrorType, res.ErrorMessage)
	}
	got := srv.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for name, v := range targetHeaders {
		if g := got[1].Get(name); g != v {
			t.Errorf("second request: %s = %q, want the target's %q", name, g, v)
		}
	}
	if r := got[1].Values("Referer"); len(r) != 0 {
		t.Errorf("second request: Referer %q, want none", r)
	}
}
