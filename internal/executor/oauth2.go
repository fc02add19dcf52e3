package executor

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Bounds of the OAuth2 token cache.
const (
	// tokenSourceEntries is how many targets' token sources are kept.
	tokenSourceEntries = 1024
	// maxTokenEarly is how long before its expiry a token is replaced at
	// most, so that it does not expire in flight; a short-lived token is
	// replaced a quarter of its lifetime early instead.
	maxTokenEarly = 10 * time.Second
	// maxTokenAge bounds the reuse of a token whose response gave no
	// expires_in.
	maxTokenAge = time.Hour
)

// tokenCache holds one token source per target: the token a target's runs
// share, reused until it is about to expire, and fetched once for all the
// runs that need it at the same time. A source is keyed by the target's id
// and a digest of its configuration, so an edited target starts afresh.
type tokenCache struct {
	client *http.Client // the executor's transport: the outbound policy holds
	mu     sync.Mutex
	m      map[int64]*tokenSource
}

func newTokenCache(rt http.RoundTripper) *tokenCache {
	return &tokenCache{
		// A token endpoint has no business redirecting: following one would
		// send the credentials, in the body of a 307, wherever it points.
		client: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		m: make(map[int64]*tokenSource),
	}
}

// tokenSource is one target's token. x/oauth2's ReuseTokenSource is not
// used: its source keeps the context it was made with for every fetch, so a
// run's deadline or cancellation could not stop the fetch it waits for,
// and its fixed 10-second early expiry would never reuse a short-lived
// token. This one fetches under the context of the run that needs the
// token, one run at a time (sem), and shares the result with the runs that
// waited.
type tokenSource struct {
	digest [sha256.Size]byte
	conf   *clientcredentials.Config
	sem    chan struct{} // held by the one fetch in flight

	mu       sync.Mutex
	tok      *oauth2.Token
	until    time.Time // tok is reused until then
	err      error     // the last fetch's failure
	failedAt time.Time
}

// source returns the token source of o for target id.
func (c *tokenCache) source(id int64, o *apicron.OAuth2) *tokenSource {
	raw, _ := json.Marshal(o) // strings: cannot fail
	d := sha256.Sum256(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[id]; ok && s.digest == d {
		return s
	}
	if _, ok := c.m[id]; !ok && len(c.m) >= tokenSourceEntries {
		for k := range c.m { // any one: a target whose source is dropped fetches anew
			delete(c.m, k)
			break
		}
	}
	params := url.Values{}
	if o.Audience != "" {
		params.Set("audience", o.Audience)
	}
	s := &tokenSource{digest: d, sem: make(chan struct{}, 1), conf: &clientcredentials.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL,
		Scopes: append([]string(nil), o.Scopes...), EndpointParams: params,
		// HTTP Basic, which RFC 6749 section 2.3.1 makes every server
		// support. Auto-detection would send a second request after every
		// refusal, with the secret in the body.
		AuthStyle: oauth2.AuthStyleInHeader,
	}}
	c.m[id] = s
	return s
}

// valid returns the token while it may be reused.
func (s *tokenSource) valid(now time.Time) *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && now.Before(s.until) {
		return s.tok
	}
	return nil
}

// token returns a token for the target, fetching one if the cached one is
// missing or about to expire. A run that waited for another's fetch takes
// its outcome, token or failure, rather than asking again.
func (c *tokenCache) token(ctx context.Context, id int64, o *apicron.OAuth2) (*oauth2.Token, error) {
	s := c.source(id, o)
	if tok := s.valid(time.Now()); tok != nil {
		return tok, nil
	}
	asked := time.Now()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	now := time.Now()
	if tok := s.valid(now); tok != nil {
		return tok, nil
	}
	s.mu.Lock()
	err, failedAt := s.err, s.failedAt
	s.mu.Unlock()
	if err != nil && failedAt.After(asked) {
		return nil, err
	}
	tok, err := s.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, c.client))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil { // a run's own deadline or cancellation is not the endpoint's failure
			s.err, s.failedAt = err, time.Now()
		}
		return nil, err
	}
	s.tok, s.err = tok, nil
	s.until = now.Add(maxTokenAge)
	if !tok.Expiry.IsZero() {
		early := min(maxTokenEarly, tok.Expiry.Sub(now)/4)
		s.until = tok.Expiry.Add(-early)
	}
	return tok, nil
}

// forget drops tok if it is still target id's token: the target refused it
// (401), so the next request fetches another rather than waiting for it to
// expire.
func (c *tokenCache) forget(id int64, tok *oauth2.Token) {
	c.mu.Lock()
	s := c.m[id]
	c.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.tok == tok {
		s.tok = nil
	}
	s.mu.Unlock()
}

// tokenFailure finishes an attempt whose token could not be had: FAILED
// oauth2, with a message naming the token endpoint (without its query) and
// what went wrong, never the client secret. The attempt is retried as a
// target's failure of the same cause would be: a 5xx or 429 from the token
// endpoint, a timeout, a connection or DNS failure by those classes of the
// target's retry_on; a 4xx (credentials refused) by http_4xx; a blocked
// address or an answer that is not a token never.
func (e *Executor) tokenFailure(ctx context.Context, o outcome, cfg *apicron.OAuth2, err error, timeout time.Duration) outcome {
	if errors.Is(ctx.Err(), context.Canceled) {
		return e.failed(o, context.Canceled)
	}
	o.FinishedAt = e.now()
	o.Status, o.ErrorType = apicron.Failed, apicron.ErrOAuth2
	var detail string
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := re.Response.StatusCode
		detail = statusMessage(code)
		if code >= 200 && code < 300 {
			detail = "HTTP " + strconv.Itoa(code) + " without a usable token"
		}
		if re.ErrorCode != "" {
			detail += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				detail += " (" + re.ErrorDescription + ")"
			}
		}
		switch {
		case code == http.StatusTooManyRequests:
			o.class = apicron.RetryHTTP429
		case code >= 500 && code < 600:
			o.class = apicron.RetryHTTP5xx
		case code >= 400 && code < 500:
			o.class = apicron.RetryHTTP4xx
		}
	} else {
		status, typ := Classify(err)
		if typ == apicron.ErrOther && strings.HasPrefix(err.Error(), "oauth2: ") {
			detail = strings.TrimPrefix(err.Error(), "oauth2: ") // a response that is not a token
		} else {
			detail = describe(err, typ, timeout, false)
		}
		o.class = apicron.RetryClass(&apicron.Outcome{Status: status, ErrorType: typ})
	}
	if cfg.ClientSecret != "" {
		detail = strings.ReplaceAll(detail, cfg.ClientSecret, apicron.MaskedValue)
	}
	o.ErrorMessage = truncateText("oauth2 token request to "+withoutQuery(cfg.TokenURL)+" failed: "+detail, maxMessage)
	return o
}

// withoutQuery is raw without its query and fragment, which may hold a key.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the token endpoint"
	}
	return fmt.Sprintf("%s://%s%s", u.Scheme, u.Host, u.EscapedPath())
}
