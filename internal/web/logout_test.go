package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
	"github.com/apicron/apicron/internal/web"
)

// node is one apicron node's dashboard over a shared database.
func node(t *testing.T, db *store.DB, clock *storetest.Clock, secret []byte) *web.Handler {
	t.Helper()
	h, err := web.New(web.Config{Store: db, Clock: clock, Tokens: []string{"full-token"}, ReadTokens: []string{"read-token"},
		SessionSecret: secret, SessionEnds: db})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve sends a request to h, as a same-origin browser with cookie c (if any).
func serve(h http.Handler, method, path string, form url.Values, c *http.Cookie) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.RemoteAddr = "192.0.2.7:41000"
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == "apicron_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie: %d %s", w.Code, w.Body.String())
	return nil
}

// A logout on one node ends the session on every node: a copy of the
// cookie kept from before is refused from then on, while another
// session of the same token goes on.
func TestLogout_EndsTheSessionOnEveryNode(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		dsn := storetest.NewDSN(t, driver)
		dbA := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, Shared: driver == "postgres", NodeID: "a"})
		secret, err := dbA.SessionSecret(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		a := node(t, dbA, clock, secret)
		b := a
		if driver == "postgres" {
			dbB := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, Shared: true, NodeID: "b"})
			b = node(t, dbB, clock, secret)
		}
		login := url.Values{"token": {"full-token"}, "next": {"/ui/targets"}}
		kept := sessionCookie(t, serve(a, http.MethodPost, "/ui/login", login, nil))
		other := sessionCookie(t, serve(a, http.MethodPost, "/ui/login", login, nil))
		if w := serve(b, http.MethodGet, "/ui/targets", nil, kept); w.Code != http.StatusOK {
			t.Fatalf("before logout, the other node: %d", w.Code)
		}
		if w := serve(a, http.MethodPost, "/ui/logout", url.Values{}, kept); w.Code != http.StatusSeeOther {
			t.Fatalf("logout: %d %s", w.Code, w.Body.String())
		}
		for name, h := range map[string]http.Handler{"this node": a, "the other node": b} {
			if w := serve(h, http.MethodGet, "/ui/targets", nil, kept); w.Code != http.StatusSeeOther ||
				!strings.HasPrefix(w.Header().Get("Location"), "/ui/login") {
				t.Fatalf("after logout, %s takes the old cookie: %d", name, w.Code)
			}
		}
		if w := serve(b, http.MethodGet, "/ui/targets", nil, other); w.Code != http.StatusOK {
			t.Fatalf("another session of the token ended too: %d", w.Code)
		}
	})
}

// Failed logins from one address are limited: after the burst, even the
// right token is refused with 429 and Retry-After, without being checked,
// until a failure has been forgiven; then it logs in.
func TestLogin_FailuresAreRateLimited(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	db := storetest.Open(t, "sqlite", clock)
	h := node(t, db, clock, []byte("0123456789abcdef"))
	for i := range 10 {
		if w := serve(h, http.MethodPost, "/ui/login", url.Values{"token": {"guess"}}, nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, w.Code)
		}
	}
	w := serve(h, http.MethodPost, "/ui/login", url.Values{"token": {"full-token"}}, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || len(w.Result().Cookies()) != 0 ||
		!strings.Contains(w.Body.String(), "Too many failed logins") {
		t.Fatalf("after 10 failures: %d Retry-After %q, want 429 and no cookie", w.Code, w.Header().Get("Retry-After"))
	}
	clock.Add(7 * time.Second)
	if c := sessionCookie(t, serve(h, http.MethodPost, "/ui/login", url.Values{"token": {"full-token"}}, nil)); c == nil {
		t.Fatal("no login after the wait")
	}
}
