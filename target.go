package apicron

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a target may hold. They keep one target from costing more
// than its share of memory, disk or time.
const (
	MaxNameLength        = 200
	MaxURLLength         = 2048
	MaxHeaders           = 50
	MaxHeaderBytes       = 8 << 10
	MaxBodyTemplateBytes = 64 << 10
	MaxTimeoutSeconds    = 3600
	MaxRetriesLimit      = 10
	MaxSecretHeaders     = 50
	DefaultMethod        = "GET"
)

// Methods lists the HTTP methods a target may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// MaskedValue is what the API shows in place of a secret header's value.
// An update that sends it back for a secret header keeps the stored value,
// so reading a target, editing it and writing it back does not replace its
// secrets with stars.
const MaskedValue = "********"

// DefaultSecretHeaders are the request headers whose values are always
// secret, whatever a target's SecretHeaders say.
var DefaultSecretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key"}

// Target is an HTTP request apicron can send: where, how and with what.
type Target struct {
	ID             int64
	Name           string
	URL            string // may contain template actions
	Method         string
	Headers        map[string]string // values may contain template actions
	BodyTemplate   string
	TimeoutSeconds *float64 // nil: the service's DEFAULT_TIMEOUT
	MaxRetries     *int     // nil: the service's MAX_RETRIES
	// SecretHeaders names headers, besides DefaultSecretHeaders, whose values
	// are write-only: the API masks them. Compared case-insensitively.
	SecretHeaders []string
	// AllowInsecureRedirects lets a request that was sent over https follow
	// a redirect to http. Without it such a run fails (ErrInsecureRedirect):
	// whatever the request carries would then travel in clear.
	AllowInsecureRedirects bool
	// Assertions are its success checks (all must hold); none: 2xx succeeds.
	Assertions []Assertion
	// SigningSecrets sign every request by the Standard Webhooks scheme
	// (SignWebhook): write-only, encrypted at rest like secret headers.
	SigningSecrets []string
	// RetryOn lists the retry classes a failed attempt is retried for
	// (nil: DefaultRetryOn); RetryBackoffMs and RetryMaxBackoffMs are the
	// backoff's first step and cap (nil: the defaults).
	RetryOn           []string
	RetryBackoffMs    *int
	RetryMaxBackoffMs *int
	// OAuth2, when set, authenticates every request with a token of the
	// client credentials grant; the target then has no Authorization header.
	OAuth2 *OAuth2
	// ClientCert, when set, is presented in every TLS handshake of the
	// target's requests (mutual TLS).
	ClientCert *ClientCert
	// RateLimit paces the requests to the target's host (nil: none). One
	// bucket per host and node: every target of the host that has one
	// shares it, at the strictest of their limits.
	RateLimit *RateLimit
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TargetUpdate holds the fields of a partial update; nil leaves a field as it is.
type TargetUpdate struct {
	Name           *string
	URL            *string
	Method         *string
	Headers        *map[string]string
	BodyTemplate   *string
	TimeoutSeconds **float64 // set to a nil *float64 to clear
	MaxRetries     **int
	SecretHeaders  *[]string
	// AllowInsecureRedirects sets Target.AllowInsecureRedirects.
	AllowInsecureRedirects *bool
	Assertions             *[]Assertion
	// SigningSecrets replaces the signing secrets; an entry equal to
	// MaskSigningSecret of a current one keeps that one.
	SigningSecrets *[]string
	// Auth sets the authentication, after Headers (the API's auth field):
	// basic and bearer set the Authorization header, oauth2 OAuth2 (and
	// removes that header), Type "none" removes both; a password, token or
	// client secret equal to MaskedValue keeps the current one.
	Auth *TargetAuth
	// ClientCert replaces the client certificate; a nil *ClientCert removes
	// it, and a KeyPEM equal to MaskedValue keeps the current key.
	ClientCert **ClientCert
	// RetryOn: a nil *[]string returns to the default classes.
	RetryOn           **[]string
	RetryBackoffMs    **int
	RetryMaxBackoffMs **int
	// RateLimit replaces the rate limit whole; a nil *RateLimit removes it.
	RateLimit **RateLimit
}

// Apply copies the set fields of u onto t. A header value equal to
// MaskedValue, for a header that t already has and that is secret in t or
// in the result, keeps t's value: it is the mask the API showed, sent back
// (a header no longer secret then keeps its value, now readable, rather
// than become the mask itself).
func (u TargetUpdate) Apply(t *Target) {
	if u.Assertions != nil {
		t.Assertions = *u.Assertions
	}
	if u.RetryOn != nil {
		t.RetryOn = nil
		if *u.RetryOn != nil {
			t.RetryOn = **u.RetryOn
		}
	}
	if u.RetryBackoffMs != nil {
		t.RetryBackoffMs = *u.RetryBackoffMs
	}
	if u.RetryMaxBackoffMs != nil {
		t.RetryMaxBackoffMs = *u.RetryMaxBackoffMs
	}
	if u.RateLimit != nil {
		t.RateLimit = nil
		if r := *u.RateLimit; r != nil {
			c := *r
			t.RateLimit = &c
		}
	}
	if u.SigningSecrets != nil {
		next := make([]string, 0, len(*u.SigningSecrets))
		used := make([]bool, len(t.SigningSecrets))
		for _, s := range *u.SigningSecrets {
			for j, old := range t.SigningSecrets {
				if !used[j] && s == MaskSigningSecret(old) { // each current secret kept once
					s, used[j] = old, true
					break
				}
			}
			next = append(next, s)
		}
		t.SigningSecrets = next
	}
	wasSecret := t.SecretHeaders // a mask of a header secret before the update keeps its value too
	if u.SecretHeaders != nil {
		t.SecretHeaders = *u.SecretHeaders
	}
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.URL != nil {
		t.URL = *u.URL
	}
	if u.Method != nil {
		t.Method = *u.Method
	}
	if u.Headers != nil {
		headers := make(map[string]string, len(*u.Headers))
		for name, v := range *u.Headers {
			if v == MaskedValue && (t.IsSecretHeader(name) || isSecretHeader(name, wasSecret)) {
				if old, ok := lookupHeader(t.Headers, name); ok {
					v = old
				}
			}
			headers[name] = v
		}
		t.Headers = headers
	}
	if u.BodyTemplate != nil {
		t.BodyTemplate = *u.BodyTemplate
	}
	if u.TimeoutSeconds != nil {
		t.TimeoutSeconds = *u.TimeoutSeconds
	}
	if u.MaxRetries != nil {
		t.MaxRetries = *u.MaxRetries
	}
	if u.AllowInsecureRedirects != nil {
		t.AllowInsecureRedirects = *u.AllowInsecureRedirects
	}
	if u.Auth != nil {
		u.applyAuth(t)
	}
	if u.ClientCert != nil {
		c := *u.ClientCert
		if c != nil {
			next := *c
			if next.KeyPEM == MaskedValue && t.ClientCert != nil {
				next.KeyPEM = t.ClientCert.KeyPEM
			}
			c = &next
		}
		t.ClientCert = c
	}
}

// Normalize canonicalizes fields that have one meaning in several spellings.
func (t *Target) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	t.URL = strings.TrimSpace(t.URL)
	t.Method = strings.ToUpper(strings.TrimSpace(t.Method))
	if t.Method == "" {
		t.Method = DefaultMethod
	}
	if t.Headers == nil {
		t.Headers = map[string]string{}
	}
	t.SecretHeaders = normalizeHeaderNames(t.SecretHeaders)
	if t.RateLimit != nil {
		t.RateLimit.Normalize()
	}
}

// IsSecretHeader reports whether the value of header name is write-only: it
// is one of DefaultSecretHeaders or of t.SecretHeaders, in any case.
func (t *Target) IsSecretHeader(name string) bool {
	return isSecretHeader(name, t.SecretHeaders)
}

// MaskedHeaders returns t's headers with the values of its secret ones
// (IsSecretHeader) replaced by MaskedValue: how every reader outside the
// executor (the API, the dashboard) shows them.
func (t *Target) MaskedHeaders() map[string]string {
	out := make(map[string]string, len(t.Headers))
	for name, v := range t.Headers {
		if t.IsSecretHeader(name) {
			v = MaskedValue
		}
		out[name] = v
	}
	return out
}

// isSecretHeader reports whether name is one of DefaultSecretHeaders or of
// secret, in any case.
func isSecretHeader(name string, secret []string) bool {
	for _, s := range DefaultSecretHeaders {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	for _, s := range secret {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return true
		}
	}
	return false
}

// lookupHeader returns the value of header name in h: the exact key if
// present, else the first key equal to it in any case.
func lookupHeader(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// normalizeHeaderNames trims the names and drops repeats (in any case),
// keeping the first spelling; it never returns nil.
func normalizeHeaderNames(names []string) []string {
	out := make([]string, 0, len(names))
next:
	for _, n := range names {
		n = strings.TrimSpace(n)
		for _, o := range out {
			if strings.EqualFold(o, n) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// Validate returns an EINVALID error naming the first field that breaks a rule.
func (t *Target) Validate() error {
	if err := ValidateName("name", t.Name); err != nil {
		return err
	}
	if err := ValidateAssertions("assertions", t.Assertions); err != nil {
		return err
	}
	if err := ValidateSigningSecrets(t.SigningSecrets); err != nil {
		return err
	}
	if err := t.validateRetry(); err != nil {
		return err
	}
	if err := t.validateAuth(); err != nil {
		return err
	}
	if t.RateLimit != nil {
		if err := t.RateLimit.Validate(); err != nil {
			return err
		}
	}
	if err := validateMethod(t.Method); err != nil {
		return err
	}
	// One budget for the whole request, as the executor spends it.
	budget := NewRenderBudget()
	if err := validateHeaders(t.Headers, &budget); err != nil {
		return err
	}
	if err := t.validateSecretHeaders(); err != nil {
		return err
	}
	if err := validateURLTemplate(t.URL, &budget); err != nil {
		return err
	}
	if len(t.BodyTemplate) > MaxBodyTemplateBytes {
		return Invalid("body_template", "must be at most %d bytes, got %d", MaxBodyTemplateBytes, len(t.BodyTemplate))
	}
	if _, err := checkTemplate("body_template", t.BodyTemplate, &budget); err != nil {
		return err
	}
	if t.TimeoutSeconds != nil {
		if v := *t.TimeoutSeconds; !(v > 0) || v > MaxTimeoutSeconds {
			return Invalid("timeout_seconds", "must be greater than 0 and at most %d", MaxTimeoutSeconds)
		}
	}
	if t.MaxRetries != nil {
		if v := *t.MaxRetries; v < 0 || v > MaxRetriesLimit {
			return Invalid("max_retries", "must be between 0 and %d", MaxRetriesLimit)
		}
	}
	return nil
}

// ValidateName checks a resource name: not blank, at most MaxNameLength characters.
func ValidateName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalid(field, "must not be empty")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return Invalid(field, "must be at most %d characters, got %d", MaxNameLength, n)
	}
	if !utf8.ValidString(name) {
		return Invalid(field, "must be valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

func validateMethod(m string) error {
	for _, ok := range Methods {
		if m == ok {
			return nil
		}
	}
	return Invalid("method", "must be one of %s, got %q", strings.Join(Methods, ", "), m)
}

// validateHeaders checks the headers in the order of their names, so that
// the one named in an error is the same every time, rendering their values
// within budget.
func validateHeaders(h map[string]string, budget *RenderBudget) error {
	if len(h) > MaxHeaders {
		return Invalid("headers", "at most %d headers, got %d", MaxHeaders, len(h))
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	// HTTP header names are case-insensitive: two spellings of one would
	// send one of the two values, not always the same.
	seen := make(map[string]string, len(names))
	for _, name := range names {
		value := h[name]
		field := "headers." + name
		if !isToken(name) {
			return Invalid("headers", "header name %q is not a valid HTTP token", name)
		}
		lower := strings.ToLower(name)
		if first, ok := seen[lower]; ok {
			return Invalid("headers", "header names %q and %q differ only in case, and header names are case-insensitive: keep one", first, name)
		}
		seen[lower] = name
		if len(name)+len(value) > MaxHeaderBytes {
			return Invalid(field, "header must be at most %d bytes", MaxHeaderBytes)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return Invalid(field, "header value must not contain CR, LF or NUL")
		}
		if err := budget.Spend(field, len(name)); err != nil {
			return Invalid("headers", "%v", err)
		}
		v, err := checkTemplate(field, value, budget)
		if err != nil {
			return err
		}
		// A string literal can hold "\r\n" without the text holding one.
		if strings.ContainsAny(v, "\r\n\x00") {
			return Invalid(field, "header value must not contain CR, LF or NUL once rendered")
		}
	}
	return nil
}

// validateSecretHeaders checks the names in SecretHeaders, and that no
// secret header holds the mask itself: a masked value sent back keeps the
// stored one (see TargetUpdate.Apply), so one that is left had none to keep.
func (t *Target) validateSecretHeaders() error {
	if len(t.SecretHeaders) > MaxSecretHeaders {
		return Invalid("secret_headers", "at most %d header names, got %d", MaxSecretHeaders, len(t.SecretHeaders))
	}
	for _, name := range t.SecretHeaders {
		if !isToken(name) || len(name) > MaxHeaderBytes {
			return Invalid("secret_headers", "header name %q is not a valid HTTP token", name)
		}
	}
	for name, v := range t.Headers {
		if v == MaskedValue && t.IsSecretHeader(name) {
			return Invalid("headers."+name, "is the mask %s, not a value: send the real value (the mask keeps a value only when the target already has one)", MaskedValue)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validateURLTemplate(raw string, budget *RenderBudget) error {
	if raw == "" {
		return Invalid("url", "must not be empty")
	}
	if len(raw) > MaxURLLength {
		return Invalid("url", "must be at most %d characters, got %d", MaxURLLength, len(raw))
	}
	// Validate the URL as it would be sent, with sample values in its actions.
	rendered, err := checkTemplate("url", raw, budget)
	if err != nil {
		return err
	}
	return ValidateURL("url", rendered)
}

// ValidateURL checks that raw is an absolute http or https URL with a
// host, and a port from 1 to 65535 if it has one.
func ValidateURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid(field, "is not a valid URL: %v", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid(field, "must be an absolute http or https URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Invalid(field, "must include a host")
	}
	if u.User != nil {
		return Invalid(field, "must not embed credentials; use an Authorization header")
	}
	// url.Parse takes any digits as a port; a port past 65535 could be
	// stored but would fail every run.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Invalid(field, "port %s is not a TCP port: it must be from 1 to 65535", p)
		}
	}
	return nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// TimeFormat is how apicron writes instants: RFC 3339 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// applyAuth sets t's Authorization header from u.Auth. A masked password
// or token (the API's view sent back) keeps the current secret; when the
// current header is not of that scheme (or cannot be read), the header is
// left as it is.
func (u TargetUpdate) applyAuth(t *Target) {
	a := *u.Auth
	if a.Type == AuthOAuth2 {
		if a.OAuth2 == nil {
			return
		}
		o := *a.OAuth2
		o.Scopes = append([]string{}, a.OAuth2.Scopes...)
		// The mask keeps the stored secret only for the same token
		// endpoint's host: sent elsewhere, it would hand the secret to
		// whoever named the new host, so it must be typed again.
		if o.ClientSecret == MaskedValue && t.OAuth2 != nil && sameHost(o.TokenURL, t.OAuth2.TokenURL) {
			o.ClientSecret = t.OAuth2.ClientSecret
		}
		// The token makes the Authorization header: a static one would
		// say something else.
		for k := range t.Headers {
			if strings.EqualFold(k, "Authorization") {
				delete(t.Headers, k)
			}
		}
		t.OAuth2 = &o
		return
	}
	var cur string
	for k, v := range t.Headers {
		if strings.EqualFold(k, "Authorization") {
			cur = v
		}
	}
	switch {
	case a.Type == AuthNone:
	case a.Type == AuthBasic && a.Password == MaskedValue:
		_, pass, ok := parseBasic(cur)
		if !ok {
			return
		}
		a.Password = pass
	case a.Type == AuthBearer && a.Token == MaskedValue:
		tok, ok := strings.CutPrefix(cur, "Bearer ")
		if !ok {
			return
		}
		a.Token = tok
	}
	for k := range t.Headers {
		if strings.EqualFold(k, "Authorization") {
			delete(t.Headers, k)
		}
	}
	t.OAuth2 = nil
	if a.Type == AuthNone {
		return
	}
	if t.Headers == nil {
		t.Headers = map[string]string{}
	}
	t.Headers["Authorization"] = a.Header()
}

// validateAuth checks the OAuth2 configuration and client certificate, and
// that a target with OAuth2 sends no Authorization header of its own.
func (t *Target) validateAuth() error {
	if t.OAuth2 != nil {
		if err := t.OAuth2.Validate(); err != nil {
			return err
		}
		if t.OAuth2.ClientSecret == MaskedValue {
			return Invalid("auth.client_secret", "is the mask %s, not a secret: send the real one (the mask keeps a secret only when the target already has one, for a token_url on the same host)", MaskedValue)
		}
		for k := range t.Headers {
			if strings.EqualFold(k, "Authorization") {
				return Invalid("headers."+k, "the target authenticates with oauth2_client_credentials, whose token is its Authorization header: "+
					"drop this header, or set another auth")
			}
		}
	}
	if t.ClientCert != nil {
		return t.ClientCert.Validate(true)
	}
	return nil
}

// sameHost reports whether two URLs name the same host and port (case
// folded); an unparsable one matches nothing.
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && strings.EqualFold(ua.Host, ub.Host)
}
