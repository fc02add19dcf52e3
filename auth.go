package apicron

import (
	"encoding/base64"
	"strings"
)

// Target authentication types: sugar over the Authorization header, which
// is secret (write-only, encrypted at rest).
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// TargetAuth is how a target authenticates: basic (username and
// password) or bearer (a token).
type TargetAuth struct {
	Type     string
	Username string
	Password string
	Token    string
}

// Header returns the Authorization header value a validated a sends.
func (a *TargetAuth) Header() string {
	if a.Type == AuthBasic {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
	}
	return "Bearer " + a.Token
}

// Validate checks a.
func (a *TargetAuth) Validate() error {
	bad := func(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
	switch a.Type {
	case AuthBasic:
		switch {
		case a.Username == "" || strings.Contains(a.Username, ":") || bad(a.Username):
			return Invalid("auth.username", "must be a non-empty name without a colon or a line break")
		case a.Password == "" || bad(a.Password):
			return Invalid("auth.password", "must be non-empty, without a line break")
		case a.Token != "":
			return Invalid("auth.token", "is for bearer auth; basic takes username and password")
		}
	case AuthBearer:
		switch {
		case a.Token == "" || bad(a.Token) || strings.ContainsAny(a.Token, " \t"):
			return Invalid("auth.token", "must be a non-empty token without spaces or line breaks")
		case a.Username != "" || a.Password != "":
			return Invalid("auth.username", "is for basic auth; bearer takes a token")
		}
	default:
		return Invalid("auth.type", `must be "basic" or "bearer", got %q`, a.Type)
	}
	return nil
}

// parseBasic reads a basic Authorization header value.
func parseBasic(header string) (user, pass string, ok bool) {
	v, found := strings.CutPrefix(header, "Basic ")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// AuthOf reads the authentication a target's Authorization header value
// carries, its secrets masked; nil when it is neither basic nor bearer.
func AuthOf(header string) *TargetAuth {
	if user, _, ok := parseBasic(header); ok {
		return &TargetAuth{Type: AuthBasic, Username: user, Password: MaskedValue}
	}
	if _, ok := strings.CutPrefix(header, "Bearer "); ok {
		return &TargetAuth{Type: AuthBearer, Token: MaskedValue}
	}
	return nil
}
