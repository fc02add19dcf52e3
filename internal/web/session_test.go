package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// requestWith returns a request carrying cookie value v.
func requestWith(v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
	return r
}

// A session is accepted until it expires, by any node with the same
// tokens in any order; other tokens, a tampered cookie or a forged level
// are refused.
func TestSessions_SignAndCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := newSessions([]string{"f1", "f2"}, []string{"r1"}, []byte("0123456789abcdef"), time.Hour)
	if a.check("f2") != accessFull || a.check("r1") != accessRead || a.check("nope") != accessNone {
		t.Fatal("check: wrong access levels")
	}
	v := a.sign(accessRead, "token:abcd0123", now.Add(time.Hour))
	if s := a.of(requestWith(v), now); s.Access != accessRead || s.Actor != "token:abcd0123" || !s.LoggedIn {
		t.Fatalf("of = %+v", s)
	}
	if s := a.of(requestWith(v), now.Add(time.Hour)); s.Access != accessNone {
		t.Errorf("an expired session is accepted: %+v", s)
	}
	other := newSessions([]string{"f2", "f1"}, []string{"r1"}, []byte("0123456789abcdef"), time.Hour)
	if other.of(requestWith(v), now).Access != accessRead {
		t.Error("a node with the same tokens refuses the session")
	}
	changed := newSessions([]string{"f1", "f3"}, []string{"r1"}, []byte("0123456789abcdef"), time.Hour)
	if changed.of(requestWith(v), now).Access != accessNone {
		t.Error("a session outlives a change of tokens")
	}
	// The level is signed: a payload swapped for a full one is refused.
	full := a.sign(accessFull, "token:abcd0123", now.Add(time.Hour))
	forged := full[:len(full)-len(v[len(v)-43:])] + v[len(v)-43:]
	if a.of(requestWith(forged), now).Access != accessNone {
		t.Error("a forged session is accepted")
	}
	for _, bad := range []string{"", "x", "x.y", v + "x"} {
		if a.of(requestWith(bad), now).Access != accessNone {
			t.Errorf("cookie %q accepted", bad)
		}
	}
	// Knowing the tokens is not enough to sign: a read-only token's holder
	// cannot make the full session a key from the tokens alone would allow.
	guess := newSessions([]string{"f1", "f2"}, []string{"r1"}, nil, time.Hour)
	if a.of(requestWith(guess.sign(accessFull, "x", now.Add(time.Hour))), now).Access != accessNone {
		t.Error("a session signed without the server's secret is accepted")
	}
	var open *sessions
	if s := open.of(httptest.NewRequest(http.MethodGet, "/", nil), now); s.Access != accessFull || s.LoggedIn {
		t.Errorf("open dashboard session = %+v", s)
	}
}

// localPath keeps a login's next within this host.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/ui/runs?x=1": "/ui/runs?x=1", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil.example": "/", "": "/", "ui": "/", "/\t/evil.example/": "/", "/\n/evil.example/": "/", "/x\x7f": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every page answers with the CSP; the static files are cached for good
// under the current digest; a cross-origin form post is refused.
func TestHandler_Headers(t *testing.T) {
	t.Parallel()
	h, err := New(Config{Store: nilStore{}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, staticPrefix+staticVersion+"/app.css", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Security-Policy") != csp ||
		rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("static: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, staticPrefix+staticVersion+"/vendor/VENDOR", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("VENDOR served: %d", rec.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/ui/schedules/1/resume", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site post = %d, want 403", rec.Code)
	}
}

// An IPv6 peer counts by its /64; all peers together are limited too, and
// a flood of new addresses neither resets the others' counts nor escapes
// that limit; a given-back try is not counted.
func TestLoginLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	req := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/ui/login", nil)
		r.RemoteAddr = addr
		return r
	}
	if a, b := peerOf(req("[2001:db8:1:2::7]:4000")), peerOf(req("[2001:db8:1:2:ffff::1]:4001")); a != b || a != "2001:db8:1:2::/64" {
		t.Fatalf("one /64 is two peers: %q %q", a, b)
	}
	if p := peerOf(req("192.0.2.7:4000")); p != "192.0.2.7" {
		t.Fatalf("an IPv4 peer is %q", p)
	}
	var l loginLimiter
	for range loginBurst {
		if _, wait := l.take("a", now); wait != 0 {
			t.Fatal("a try within the burst waits")
		}
	}
	if _, wait := l.take("a", now); wait <= 0 || wait > loginRefill {
		t.Fatalf("past the burst: wait %v, want up to %v", wait, loginRefill)
	}
	giveBack, _ := l.take("b", now)
	giveBack()
	for i := range loginAllBurst - loginBurst {
		if _, wait := l.take(fmt.Sprintf("peer-%d", i), now); wait != 0 {
			t.Fatalf("try %d of all waits", i)
		}
	}
	if _, wait := l.take("someone-new", now); wait <= 0 {
		t.Fatal("past the limit of all, a new address does not wait")
	}
	if _, wait := l.take("a", now); wait <= 0 {
		t.Fatal("a's count was forgotten")
	}
}
