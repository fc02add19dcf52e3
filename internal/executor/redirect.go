package executor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/apicron/apicron"
)

// errTooManyRedirects is what checkRedirect returns past MaxRedirects;
// Classify finds it with errors.Is.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// InsecureRedirectError is a redirect from https to http that the job does
// not allow (apicron.Job.AllowInsecureRedirects): following it would send
// the request in clear. Classify makes it FAILED insecure_redirect; it is
// not retried. Nothing is sent to the http URL.
type InsecureRedirectError struct {
	// From and To are the origins (scheme://host[:port]) of the request
	// that was redirected and of the Location it was redirected to.
	From, To string
}

// Error names the two origins; never a path or a query.
func (e *InsecureRedirectError) Error() string {
	return "refused a redirect from " + e.From + " to " + e.To +
		": it would send the request without TLS (the target does not set allow_insecure_redirects)"
}

// jobKey is the context key under which an attempt's request carries its
// job, for checkRedirect.
type jobKey struct{}

func withJob(ctx context.Context, job *apicron.Job) context.Context {
	return context.WithValue(ctx, jobKey{}, job)
}

// checkRedirect decides each redirect hop of an attempt, after
// net/http has copied the first request's headers onto req:
//
//   - past MaxRedirects it stops the attempt (redirect_limit);
//   - from https to http, unless the job allows it, it stops the attempt
//     before anything is sent to the http URL (insecure_redirect);
//   - it never sends a Referer: apicron refers from no page, and the one
//     net/http adds carries the previous URL, query included;
//   - once the chain has left the first request's origin (scheme, host,
//     port), it drops every header the target defined, secret or not, and
//     a Host the target set. net/http drops only Authorization, Cookie and
//     the like, only towards another domain, and keeps everything on the
//     same host over another scheme or port. The request keeps apicron's
//     own headers: the X-Apicron ones and the default User-Agent.
func (e *Executor) checkRedirect(req *http.Request, via []*http.Request) error {
	// via holds the requests already sent: the first plus the redirects followed.
	if len(via) > MaxRedirects {
		return errTooManyRedirects
	}
	job, _ := req.Context().Value(jobKey{}).(*apicron.Job)
	prev := via[len(via)-1].URL
	if prev.Scheme == "https" && req.URL.Scheme == "http" && (job == nil || !job.AllowInsecureRedirects) {
		return &InsecureRedirectError{From: origin(prev), To: origin(req.URL)}
	}
	req.Header.Del("Referer")
	first := via[0].URL
	left := !sameOrigin(first, req.URL)
	for _, r := range via[1:] {
		left = left || !sameOrigin(first, r.URL)
	}
	if !left || job == nil {
		return nil
	}
	for name := range job.Headers {
		k := http.CanonicalHeaderKey(name)
		if !strings.HasPrefix(k, "X-Apicron-") { // those hold apicron's values, not the target's
			delete(req.Header, k)
		}
	}
	if job.OAuth2 != nil {
		req.Header.Del("Authorization") // the target's token is the target's too
	}
	req.Header["User-Agent"] = []string{e.userAgent}
	req.Host = ""
	return nil
}

// sameOrigin reports whether a and b have the same scheme, host and port,
// a port left out being the scheme's.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// origin is u's scheme://host[:port], for messages: neither its path nor
// its query, which may hold a key.
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}
