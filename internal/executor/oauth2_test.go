package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

const testClientSecret = "cl1ent-s3cret-value"

// tokenEndpoint is a loopback OAuth2 token endpoint: it checks the client
// credentials grant and issues tok-1, tok-2... that expire after expiresIn
// seconds, or answers status with body when status is set.
type tokenEndpoint struct {
	url       string
	requests  atomic.Int64
	expiresIn atomic.Int64
	status    atomic.Int64
	body      atomic.Value // string
	delay     time.Duration
	mu        sync.Mutex
	forms     []string // scope and audience of each request
}

func newTokenEndpoint(t *testing.T, expiresIn int64) *tokenEndpoint {
	te := &tokenEndpoint{delay: 50 * time.Millisecond}
	te.expiresIn.Store(expiresIn)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := te.requests.Add(1)
		time.Sleep(te.delay) // long enough for concurrent runs to overlap
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, "not a client credentials grant", http.StatusBadRequest)
			return
		}
		te.mu.Lock()
		te.forms = append(te.forms, r.FormValue("scope")+"|"+r.FormValue("audience"))
		te.mu.Unlock()
		if st := te.status.Load(); st != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(int(st))
			fmt.Fprint(w, te.body.Load())
			return
		}
		if !ok || id != "reporter" || secret != testClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": "invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "bearer",
			"expires_in": te.expiresIn.Load()})
	})
	te.url = srv.URL + "/oauth/token?tenant=k3y"
	return te
}

// bearerTarget records the Authorization header of each request and
// answers 200, or 401 to a token in refuse.
type bearerTarget struct {
	url    string
	mu     sync.Mutex
	seen   []string
	refuse string
}

func newBearerTarget(t *testing.T) *bearerTarget {
	bt := &bearerTarget{}
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		bt.mu.Lock()
		defer bt.mu.Unlock()
		h := r.Header.Get("Authorization")
		bt.seen = append(bt.seen, h)
		if h == "" || h == bt.refuse {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	bt.url = srv.URL + "/report"
	return bt
}

func (bt *bearerTarget) take() []string {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	s := bt.seen
	bt.seen = nil
	return s
}

func oauth2Job(url string, te *tokenEndpoint) *apicron.Job {
	job := newTestJob(url)
	job.OAuth2 = &apicron.OAuth2{TokenURL: te.url, ClientID: "reporter", ClientSecret: testClientSecret,
		Scopes: []string{"reports:write", "reports:read"}, Audience: "https://api.example.com"}
	return job
}

// TestOAuth2_TokenCachedAndRefreshedOnce: the token is fetched once and
// reused by the runs that follow; once it is about to expire, 32 runs at
// the same time fetch one new token between them, and the target sees the
// Bearer token on every request.
func TestOAuth2_TokenCachedAndRefreshedOnce(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 1)
	bt := newBearerTarget(t)
	e := New(Config{})
	for range 5 {
		if res := execute(t, e, oauth2Job(bt.url, te), 5*time.Second); res.Status != apicron.Success {
			t.Fatalf("run: %s %s %s", res.Status, res.ErrorType, res.ErrorMessage)
		}
	}
	if n := te.requests.Load(); n != 1 {
		t.Fatalf("%d token requests for 5 runs, want 1 (the token cached)", n)
	}
	for i, h := range bt.take() {
		if h != "Bearer tok-1" {
			t.Errorf("request %d: Authorization %q, want Bearer tok-1", i, h)
		}
	}
	te.mu.Lock()
	if len(te.forms) != 1 || te.forms[0] != "reports:write reports:read|https://api.example.com" {
		t.Errorf("token request scope|audience %q", te.forms)
	}
	te.mu.Unlock()

	time.Sleep(1100 * time.Millisecond) // tok-1 expires
	var wg sync.WaitGroup
	results := make([]apicron.RunResult, 32)
	for i := range results {
		wg.Go(func() { results[i] = e.Execute(context.Background(), oauth2Job(bt.url, te)) })
	}
	wg.Wait()
	for i, res := range results {
		if res.Status != apicron.Success {
			t.Errorf("concurrent run %d: %s %s", i, res.Status, res.ErrorMessage)
		}
	}
	if n := te.requests.Load(); n != 2 {
		t.Fatalf("%d token requests after 32 concurrent runs past the expiry, want 2 (one refresh for all)", n)
	}
	for i, h := range bt.take() {
		if h != "Bearer tok-2" {
			t.Errorf("concurrent request %d: Authorization %q, want Bearer tok-2", i, h)
		}
	}

	// An edited configuration (another scope) gets a token of its own.
	job := oauth2Job(bt.url, te)
	job.OAuth2.Scopes = []string{"reports:read"}
	if res := execute(t, e, job, 5*time.Second); res.Status != apicron.Success || te.requests.Load() != 3 {
		t.Fatalf("after an edit: %s, %d token requests, want SUCCESS and 3", res.Status, te.requests.Load())
	}
	// Another target has a token of its own.
	job = oauth2Job(bt.url, te)
	job.TargetID++
	execute(t, e, job, 5*time.Second)
	if n := te.requests.Load(); n != 4 {
		t.Fatalf("another target: %d token requests, want 4", n)
	}
}

// TestOAuth2_TargetRefusesToken: a 401 from the target drops the cached
// token, so the next attempt fetches a new one rather than sending the
// refused one until it expires.
func TestOAuth2_TargetRefusesToken(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 3600)
	bt := newBearerTarget(t)
	bt.refuse = "Bearer tok-1"
	e := New(Config{Sleep: func(context.Context, time.Duration) error { return nil }})
	job := oauth2Job(bt.url, te)
	job.MaxRetries, job.RetryOn = 1, []string{apicron.RetryHTTP4xx}
	res := execute(t, e, job, 5*time.Second)
	if res.Status != apicron.Success || len(res.Attempts) != 2 {
		t.Fatalf("%s after %d attempts, want SUCCESS after 2", res.Status, len(res.Attempts))
	}
	if got := bt.take(); len(got) != 2 || got[0] != "Bearer tok-1" || got[1] != "Bearer tok-2" {
		t.Fatalf("the target saw %q, want tok-1 then a new tok-2", got)
	}
}

// TestOAuth2_TokenEndpointFails: a token endpoint that refuses (401) or
// fails (500) makes the run FAILED with error type oauth2, a message naming
// the endpoint and the status but neither the secret nor the URL's query,
// and nothing sent to the target. A 500 is retried as the target's 5xx
// would be; a 401 is not (http_4xx is not retried by default).
func TestOAuth2_TokenEndpointFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int64
		body     string
		attempts int
		want     string
	}{
		{401, `{"error": "invalid_client", "error_description": "bad secret ` + testClientSecret + `"}`, 1, "HTTP 401 Unauthorized: invalid_client (bad secret ********)"},
		{500, `oops`, 3, "HTTP 500 Internal Server Error"},
		{200, `{"token_type": "bearer"}`, 1, "missing access_token"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			te := newTokenEndpoint(t, 60)
			te.status.Store(tc.status)
			te.body.Store(tc.body)
			bt := newBearerTarget(t)
			e := New(Config{Sleep: func(context.Context, time.Duration) error { return nil }})
			job := oauth2Job(bt.url, te)
			job.MaxRetries = 2
			res := execute(t, e, job, 5*time.Second)
			if res.Status != apicron.Failed || res.ErrorType != apicron.ErrOAuth2 || len(res.Attempts) != tc.attempts {
				t.Fatalf("%s %s after %d attempts (%s), want FAILED oauth2 after %d", res.Status, res.ErrorType, len(res.Attempts),
					res.ErrorMessage, tc.attempts)
			}
			msg := res.ErrorMessage
			if !strings.Contains(msg, strings.TrimSuffix(te.url, "?tenant=k3y")) || !strings.Contains(msg, tc.want) ||
				strings.Contains(msg, testClientSecret) || strings.Contains(msg, "k3y") {
				t.Errorf("message %q: want the token URL without its query and %q, and no secret", msg, tc.want)
			}
			if got := bt.take(); len(got) != 0 || res.StatusCode != nil {
				t.Errorf("the target got %d requests (status code %v), want none", len(got), res.StatusCode)
			}
			if n := te.requests.Load(); n != int64(tc.attempts) {
				t.Errorf("%d token requests, want one per attempt (%d)", n, tc.attempts)
			}
		})
	}
}

// TestOAuth2_OutboundPolicy: the token request is checked against the
// outbound policy as a target's request is: a token endpoint on a cloud
// metadata address is never dialled.
func TestOAuth2_OutboundPolicy(t *testing.T) {
	t.Parallel()
	bt := newBearerTarget(t)
	e := New(Config{})
	job := newTestJob(bt.url)
	job.OAuth2 = &apicron.OAuth2{TokenURL: "http://169.254.169.254/token", ClientID: "c", ClientSecret: testClientSecret}
	res := execute(t, e, job, 5*time.Second)
	if res.Status != apicron.Failed || res.ErrorType != apicron.ErrOAuth2 || !strings.Contains(res.ErrorMessage, "blocked by the outbound policy") {
		t.Fatalf("%s %s %q, want FAILED oauth2, blocked", res.Status, res.ErrorType, res.ErrorMessage)
	}
	if len(bt.take()) != 0 {
		t.Error("the target was called without a token")
	}
}

// TestOAuth2_RedirectDropsToken: a redirect that leaves the target's origin
// carries no token, as it carries none of the target's headers.
func TestOAuth2_RedirectDropsToken(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 3600)
	var other atomic.Value
	elsewhere := mustServer(t, func(_ http.ResponseWriter, r *http.Request) { other.Store(r.Header.Get("Authorization") + "|") })
	first := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, elsewhere.URL+"/next", http.StatusFound)
	})
	res := execute(t, New(Config{}), oauth2Job(first.URL, te), 5*time.Second)
	if res.Status != apicron.Success || other.Load() != "|" {
		t.Fatalf("%s; the other origin saw Authorization %q, want none", res.Status, other.Load())
	}
}
