package apicron

import (
	"encoding/base64"
	"strings"
)

// Target authentication types. Basic and bearer are sugar over the
// Authorization header, which is secret (write-only, encrypted at rest);
// OAuth 2.0 client credentials is kept apart (Target.OAuth2), since its
// header is made per request from a token fetched and cached at run time.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthOAuth2 = "oauth2_client_credentials"
	// AuthNone, in an update, removes the authentication.
	AuthNone = "none"
)

// TargetAuth is how a target authenticates: basic (username and
// password), bearer (a token) or OAuth 2.0 client credentials (OAuth2).
type TargetAuth struct {
	Type     string
	Username string
	Password string
	Token    string
	// OAuth2 is set for AuthOAuth2 alone.
	OAuth2 *OAuth2
}

// OAuth2 is the OAuth 2.0 client credentials grant (RFC 6749 section 4.4)
// a target authenticates with: each request carries a bearer token from
// TokenURL, fetched with ClientID and ClientSecret and reused until it
// expires. ClientSecret is write-only and encrypted at rest.
type OAuth2 struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// Audience, when set, is sent as the token request's audience
	// parameter, which several providers (Auth0, Okta...) ask for.
	Audience string
}

// Limits of an OAuth2 configuration.
const (
	MaxOAuth2Scopes     = 50
	MaxOAuth2FieldBytes = 4096
)

// Validate checks o, its fields named under auth. A client secret that is
// the mask passes: in an update it keeps the stored one, and a target left
// with the mask is refused by Target.Validate.
func (o *OAuth2) Validate() error {
	bad := func(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
	if err := ValidateURL("auth.token_url", o.TokenURL); err != nil {
		return err
	}
	if len(o.TokenURL) > MaxURLLength || strings.Contains(o.TokenURL, "{{") {
		return Invalid("auth.token_url", "must be a plain URL of at most %d characters, without template actions", MaxURLLength)
	}
	switch {
	case o.ClientID == "" || bad(o.ClientID) || len(o.ClientID) > MaxOAuth2FieldBytes:
		return Invalid("auth.client_id", "must be non-empty, at most %d bytes, without a line break", MaxOAuth2FieldBytes)
	case o.ClientSecret == "" || bad(o.ClientSecret) || len(o.ClientSecret) > MaxOAuth2FieldBytes:
		return Invalid("auth.client_secret", "must be non-empty, at most %d bytes, without a line break", MaxOAuth2FieldBytes)
	case bad(o.Audience) || len(o.Audience) > MaxOAuth2FieldBytes:
		return Invalid("auth.audience", "must be at most %d bytes, without a line break", MaxOAuth2FieldBytes)
	case len(o.Scopes) > MaxOAuth2Scopes:
		return Invalid("auth.scopes", "at most %d scopes, got %d", MaxOAuth2Scopes, len(o.Scopes))
	}
	for i, sc := range o.Scopes {
		if !isScopeToken(sc) || len(sc) > MaxOAuth2FieldBytes {
			return Invalid("auth.scopes", "entry %d, %q, is not a scope: printable ASCII without spaces, quotes or backslashes (RFC 6749 section 3.3)", i, sc)
		}
	}
	return nil
}

// isScopeToken reports whether s is an RFC 6749 scope-token:
// %x21 / %x23-5B / %x5D-7E, at least one.
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Masked returns a copy of o with its secret replaced by MaskedValue, as
// the API shows it.
func (o *OAuth2) Masked() *OAuth2 {
	m := *o
	m.Scopes = append([]string{}, o.Scopes...)
	m.ClientSecret = MaskedValue
	return &m
}

// Header returns the Authorization header value a validated a sends.
func (a *TargetAuth) Header() string {
	if a.Type == AuthBasic {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
	}
	return "Bearer " + a.Token
}

// CheckWith validates a as the authentication of a target whose headers
// (those sent with it, or nil) are headers: an Authorization header beside
// it is refused unless it is the mask (a target read and sent back whole).
func (a *TargetAuth) CheckWith(headers map[string]string) error {
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") && v != MaskedValue {
			return Invalid("auth", "and an Authorization header are two ways to say one thing: send one of them")
		}
	}
	if a.Type == AuthNone {
		return nil
	}
	return a.Validate()
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
	case AuthOAuth2:
		switch {
		case a.OAuth2 == nil:
			return Invalid("auth.token_url", "oauth2_client_credentials takes token_url, client_id and client_secret")
		case a.Username != "" || a.Password != "" || a.Token != "":
			return Invalid("auth.type", "oauth2_client_credentials takes token_url, client_id, client_secret, scopes and audience; not a username, password or token")
		}
		return a.OAuth2.Validate()
	default:
		return Invalid("auth.type", `must be "basic", "bearer" or "oauth2_client_credentials", got %q`, a.Type)
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
