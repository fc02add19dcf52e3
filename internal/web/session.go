package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/apicron/apicron"
)

// A login exchanges a token for a session cookie: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Secure over
// https, and signed with HMAC-SHA256 by a key derived from the configured
// tokens. Changing the tokens so changes the key and ends every session,
// and nodes configured with the same tokens accept each other's sessions
// without sharing any state. The cookie holds the access level, the actor
// its changes are recorded as, when it expires and a random id; never the
// token. A logout records the id in the database (SessionEnds) until the
// session would have expired, so a copy of the cookie is refused by every
// node from then on.

// sessionCookie is the cookie's name.
const sessionCookie = "apicron_session"

// sessionKeyLabel tells this key apart from any other use of the tokens.
const sessionKeyLabel = "apicron dashboard session v1"

// access is what a session allows.
type access = apicron.Access

const (
	accessNone = apicron.AccessNone
	accessRead = apicron.AccessRead // look
	accessFull = apicron.AccessFull // look and change
)

// session is what a request's cookie (or an open dashboard) allows.
type session struct {
	Access access
	// Actor is who a change is recorded as made by: the API's name for the
	// token ("token:" and 8 hex digits of its SHA-256), or "dashboard".
	Actor string
	// LoggedIn is true for a cookie's session, false for an open dashboard.
	LoggedIn bool
	// ID and Expires are the cookie's, for a logout.
	ID      string
	Expires time.Time
}

// SessionEnds records the sessions a logout ended, for every node; the
// store implements it.
type SessionEnds interface {
	// EndSession ends session id, which would expire at expires.
	EndSession(ctx context.Context, id string, expires time.Time) error
	// SessionEnded reports whether EndSession ended id.
	SessionEnded(ctx context.Context, id string) (bool, error)
}

// ReadOnly reports whether the session may only look; templates hide
// every button that changes something.
func (s session) ReadOnly() bool { return s.Access != accessFull }

// actorOpen records the changes made on a dashboard without tokens.
const actorOpen = "dashboard"

// sessions checks tokens and signs and reads session cookies.
type sessions struct {
	key    [sha256.Size]byte
	ttl    time.Duration
	tokens *apicron.TokenSet
	// ends is nil when logouts end only the browser's cookie.
	ends SessionEnds
}

// newSessions returns nil without tokens: the dashboard is open.
func newSessions(full, read []string, secret []byte, ttl time.Duration) *sessions {
	if len(full) == 0 && len(read) == 0 {
		return nil
	}
	s := &sessions{ttl: ttl, tokens: apicron.NewTokenSet(full, read)}
	// Sorted, so the order the tokens are listed in does not matter.
	f, r := slices.Sorted(slices.Values(full)), slices.Sorted(slices.Values(read))
	// The server's secret makes the key unknowable to a token's holder (a
	// read-only token alone would otherwise let its holder sign a full
	// session); the tokens in it end every session when one changes.
	s.key = sha256.Sum256([]byte(sessionKeyLabel + "\x00" + string(secret) + "\x00" + strings.Join(f, "\x00") + "\x01" +
		strings.Join(r, "\x00")))
	return s
}

// check returns what token allows (apicron.TokenSet.Check).
func (s *sessions) check(token string) access { return s.tokens.Check(token) }

// tokenActor is the API's name for a token in a schedule's events.
func tokenActor(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(sum[:4])
}

// sign returns the cookie value of a new session that expires at exp.
func (s *sessions) sign(a access, actor string, exp time.Time) string {
	id := make([]byte, 16)
	_, _ = rand.Read(id) // never fails (crypto/rand)
	payload := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(int(a)) + "|" + actor + "|" +
		strconv.FormatInt(exp.Unix(), 10) + "|" + hex.EncodeToString(id)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s *sessions) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// of returns the session of r at now: full access without tokens; with
// them, its cookie's if it is valid, signed by this key, not expired and
// not ended by a logout. A session whose end cannot be looked up (the
// database is down) is refused: pages could not be shown anyway.
func (s *sessions) of(r *http.Request, now time.Time) session {
	if s == nil {
		return session{Access: accessFull, Actor: actorOpen}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return session{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 {
		return session{}
	}
	level, err1 := strconv.Atoi(parts[0])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || !now.Before(time.Unix(exp, 0)) {
		return session{}
	}
	a := access(level)
	if a != accessFull && a != accessRead {
		return session{}
	}
	if s.ends != nil {
		if ended, err := s.ends.SessionEnded(r.Context(), parts[3]); err != nil || ended {
			return session{}
		}
	}
	return session{Access: a, Actor: parts[1], LoggedIn: true, ID: parts[3], Expires: time.Unix(exp, 0)}
}

// sessionKey is the context key of the request's session.
type sessionKey struct{}

func withSession(ctx context.Context, s session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionOf(ctx context.Context) session {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s
}

// secureRequest reports whether the browser reached this server over
// https, so that the cookie is only ever sent back over https.
// secureRequest reports whether the browser reached apicron over https:
// directly, or through a proxy that says so (X-Forwarded-Proto). Believing
// the header only ever makes the cookie stricter.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// loginData is the login page's.
type loginData struct {
	Next  string
	Error string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.sessions == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", "Log in", "", loginData{Next: localPath(r.URL.Query().Get("next"))})
}

// login checks the posted token; a valid one gets a session cookie and
// goes where it was headed.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.sessions == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := localPath(r.PostFormValue("next"))
	now, peer := h.clock.Now(), peerOf(r)
	giveBack, wait := h.logins.take(peer, now)
	if wait > 0 {
		secs := int(wait/time.Second) + 1
		h.logger.InfoContext(r.Context(), "dashboard login refused: too many failed logins", "peer", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.render(w, r, http.StatusTooManyRequests, "login", "Log in", "", loginData{Next: next,
			Error: fmt.Sprintf("Too many failed logins from this address: try again in %d s.", secs)})
		return
	}
	a := h.sessions.check(token)
	if a == accessNone {
		h.logger.InfoContext(r.Context(), "dashboard login refused", "peer", r.RemoteAddr)
		h.render(w, r, http.StatusUnauthorized, "login", "Log in", "", loginData{Next: next, Error: "That token is not valid."})
		return
	}
	giveBack() // a success costs no try
	exp := now.Add(h.sessions.ttl)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: h.sessions.sign(a, tokenActor(token), exp), Path: "/",
		Expires: exp, MaxAge: int(h.sessions.ttl.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session: on every node when a store records it, and in
// this browser by clearing its cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
	if h.sessions != nil && h.sessions.ends != nil {
		if sess := h.sessions.of(r, h.clock.Now()); sess.ID != "" {
			if err := h.sessions.ends.EndSession(r.Context(), sess.ID, sess.Expires); err != nil {
				h.logger.ErrorContext(r.Context(), "dashboard logout", "err", err)
				h.fail(w, r, http.StatusServiceUnavailable, "This browser is logged out, but the session could not be ended on the server "+
					"(a copy of its cookie would still work until it expires): "+err.Error())
				return
			}
		}
	}
	to := "/ui/login"
	if h.sessions == nil {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath returns p if it is a path on this host, "/" otherwise: a login
// link must not send the browser to another site once it has logged in.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	// Browsers drop tabs and line breaks from a URL: "/\t/evil.example/"
	// would lead to //evil.example/. No control byte at all, then.
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return "/"
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// Failed logins are limited per peer address, so a token cannot be
// guessed at the speed of the network: loginBurst failures at once, then
// one more every loginRefill; an IPv6 peer counts by its /64, which one
// host holds whole. All addresses together get loginAllBurst, then one
// every loginAllRefill, so many addresses cannot guess faster either.
// Every try takes a turn before its token is checked (concurrent guesses
// cannot slip past) and a successful login gives it back. The limit is per
// node and kept in memory; behind a proxy every browser shares the proxy's
// address, so a burst of failures slows everyone's login there (never a
// session already made).
const (
	loginBurst     = 10
	loginRefill    = 6 * time.Second
	loginAllBurst  = 100
	loginAllRefill = 100 * time.Millisecond
	// loginPeers bounds the addresses remembered; past it, the ones whose
	// failures have all been forgiven are forgotten, and a new address is
	// held to the limit of all alone until room is made.
	loginPeers = 10_000
)

// loginLimiter counts failed logins, each peer's and all of them.
type loginLimiter struct {
	mu    sync.Mutex
	peers map[string]*rate.Limiter
	all   *rate.Limiter
}

// peerOf is the address a request came from, without its port; an IPv6
// address by its /64.
func peerOf(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return host
}

// take takes a try of peer at now. It returns how long peer must wait
// (nothing taken), or a func that gives the try back after a success.
func (l *loginLimiter) take(peer string, now time.Time) (giveBack func(), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.peers, l.all = map[string]*rate.Limiter{}, rate.NewLimiter(rate.Every(loginAllRefill), loginAllBurst)
	}
	lim := l.peers[peer]
	if lim == nil {
		if len(l.peers) >= loginPeers {
			for p, old := range l.peers {
				if old.TokensAt(now) >= loginBurst {
					delete(l.peers, p)
				}
			}
		}
		if len(l.peers) < loginPeers {
			lim = rate.NewLimiter(rate.Every(loginRefill), loginBurst)
			l.peers[peer] = lim
		}
	}
	var taken []*rate.Reservation
	cancel := func() {
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	for _, lm := range []*rate.Limiter{lim, l.all} {
		if lm == nil {
			continue
		}
		r := lm.ReserveN(now, 1)
		taken = append(taken, r)
		if d := r.DelayFrom(now); d > 0 {
			cancel()
			return nil, d
		}
	}
	return cancel, 0
}
