package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

// authRealm is the realm of the WWW-Authenticate challenge.
const authRealm = `Bearer realm="apicron"`

// access is what a request's credentials allow.
type access = apicron.Access

const (
	accessNone = apicron.AccessNone
	accessRead = apicron.AccessRead // GET and HEAD
	accessFull = apicron.AccessFull
)

// authenticator checks bearer tokens (apicron.TokenSet).
type authenticator struct{ tokens *apicron.TokenSet }

// newAuthenticator returns nil when there are no tokens: the API is open.
func newAuthenticator(full, read []string) *authenticator {
	t := apicron.NewTokenSet(full, read)
	if t == nil {
		return nil
	}
	return &authenticator{tokens: t}
}

// check returns what token allows.
func (a *authenticator) check(token string) access { return a.tokens.Check(token) }

// bearerToken returns the token of the request's one Authorization header,
// if it uses the Bearer scheme (in any case, RFC 9110 section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// actorOpen is the actor of the changes made through an API without tokens.
const actorOpen = "api"

// tokenActor names the changes a token makes, in a schedule's events:
// "token:" and the first 8 hex digits of the token's SHA-256, which tells
// the tokens apart and says nothing usable about them.
func tokenActor(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(sum[:4])
}

// accessKey is the context key under which authorize records what the
// token of a request to /health allows.
type accessKey struct{}

// tokenAccess returns what the token of a request to /health allows, as
// authorize recorded it: accessNone if it did not.
func tokenAccess(ctx context.Context) access {
	a, _ := ctx.Value(accessKey{}).(access)
	return a
}

// authorize lets a request through, or answers it with 401 (no or a wrong
// token) or 403 (a read-only token on a method other than GET and HEAD) and
// returns false. Without tokens, and for / (a redirect to /docs, which
// tells a browser what it needs), everything passes. /health passes too,
// since load balancers and orchestrators probe it without credentials, but
// with what its token allows recorded in the request's context (see
// tokenAccess): it tells a caller without one less. It logs the method, path
// and peer, never the Authorization header.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if s.auth == nil || r.URL.Path == "/" {
		return r.WithContext(apicron.WithActor(r.Context(), actorOpen)), true
	}
	token, ok := bearerToken(r)
	session := accessNone
	sessionActor := actorSession
	if !ok && len(r.Header.Values("Authorization")) == 0 && s.sessionFunc != nil {
		if actor, readOnly, valid := s.sessionFunc(r); valid {
			session = accessFull
			if readOnly {
				session = accessRead
			}
			if actor != "" {
				sessionActor = actor // the token the session was opened with
			}
		}
	}
	if r.URL.Path == "/health" {
		a := session
		if ok {
			a = s.auth.check(token)
		}
		return r.WithContext(context.WithValue(r.Context(), accessKey{}, a)), true
	}
	if session != accessNone {
		return s.allowAccess(w, r, session, sessionActor)
	}
	if !ok {
		s.logger.DebugContext(r.Context(), "request without a token refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", authRealm)
		s.writeUnauthorized(w, r, `this API needs an access token: send "Authorization: Bearer <token>"`, "This request had none.")
		return r, false
	}
	if a := s.auth.check(token); a != accessNone {
		return s.allowAccess(w, r, a, tokenActor(token))
	}
	s.logger.InfoContext(r.Context(), "invalid token refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
	w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token"`)
	s.writeUnauthorized(w, r, "the access token is not valid", "The token this request sent is not valid.")
	return r, false
}

// actorSession names the changes made through the API with a dashboard
// session rather than a token.
const actorSession = "dashboard"

// allowAccess lets a request with access a (a token's, or a dashboard
// session's) through, as actor, or refuses a read-only one anything but
// GET and HEAD with 403.
func (s *Server) allowAccess(w http.ResponseWriter, r *http.Request, a access, actor string) (*http.Request, bool) {
	if a == accessFull {
		return r.WithContext(apicron.WithActor(r.Context(), actor)), true
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r, true
	}
	s.logger.InfoContext(r.Context(), "read-only token refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
	w.Header().Set("WWW-Authenticate", authRealm+`, error="insufficient_scope"`)
	writeProblem(w, http.StatusForbidden, "this token is read-only: it may only GET and HEAD")
	return r, false
}

// bearerScheme names the security scheme in the OpenAPI document.
const bearerScheme = "bearer"

// The 403 of a write: a browser's request from a page of another origin
// (see sameOrigin) and, with tokens, a read-only token.
const (
	forbiddenCrossOrigin = "A browser's request from a web page of another origin (Sec-Fetch-Site, Origin), whatever its token"
	forbiddenReadOnly    = "A read-only token (API_READ_TOKEN): it may only GET and HEAD. Or a browser's request from a web page of another origin"
)

// documentAuth records in the OpenAPI document how requests authenticate,
// and that every write may answer 403 to a page of another origin. With
// tokens, every operation but health needs a bearer token and may answer
// 401, and a write 403 to a read-only token too. Without, the empty
// security requirement says that every operation is open: OpenAPI's way to
// state it, so that readers and linters see a decision rather than an
// omission.
func documentAuth(oapi *huma.OpenAPI, authenticated bool) {
	if !authenticated {
		oapi.Security = []map[string][]string{{}}
		for _, op := range operations(oapi) {
			if op.Method != http.MethodGet && op.Method != http.MethodHead {
				op.Responses["403"] = problemResponse(forbiddenCrossOrigin)
			}
		}
		return
	}
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes[bearerScheme] = &huma.SecurityScheme{
		Type:        "http",
		Scheme:      "bearer",
		Description: "An access token (API_TOKEN; API_READ_TOKEN for GET only) in the header Authorization: Bearer <token>.",
	}
	oapi.Security = []map[string][]string{{bearerScheme: {}}}
	for _, op := range operations(oapi) {
		if op.OperationID == "health" {
			op.Security = []map[string][]string{} // no token needed
			continue
		}
		op.Responses["401"] = problemResponse("No access token, or not a valid one")
		if op.Method != http.MethodGet && op.Method != http.MethodHead {
			op.Responses["403"] = problemResponse(forbiddenReadOnly)
		}
	}
}
