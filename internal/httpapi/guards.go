package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The checks in this file run in ServeHTTP, in its order, before any route
// sees a request. They keep a web page the operator happens to open from
// using the API through the operator's browser: without tokens (the quick
// start, on 127.0.0.1) the browser is as good a client as any, and a page
// may make it send requests whose answers it cannot read.

// maxEchoedHost is the longest Host a 421 repeats.
const maxEchoedHost = 100

// allowHost lets a request through if its Host is one the API answers to
// (Config.AllowedHosts), or answers it with 421 Misdirected Request and
// returns false. A browser counts the origin of a page by the name in its
// address bar, not by the address that name resolves to: a page on
// rebind.attacker.example whose name the attacker then points at 127.0.0.1
// (DNS rebinding) is "same-origin" with an API it reaches there, and may
// read and change everything an operator without a token can. Its requests
// carry its own name in Host, which is what is checked. 421 rather than 400:
// the request is well formed, but sent to a server that does not serve that
// name (RFC 9110, section 15.5.20).
func (s *Server) allowHost(w http.ResponseWriter, r *http.Request) bool {
	if s.hosts.allows(r.Host) {
		return true
	}
	host := r.Host
	if len(host) > maxEchoedHost {
		host = host[:maxEchoedHost] + "..."
	}
	s.logger.InfoContext(r.Context(), "request for a host not in ALLOWED_HOSTS refused", "host", host, "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
	writeProblem(w, http.StatusMisdirectedRequest, fmt.Sprintf("this apicron does not answer to the host %q (the request's Host header): "+
		"the host names it answers to are set by ALLOWED_HOSTS (--allowed-hosts)", host))
	return false
}

// sameOrigin lets a request through unless a browser says it comes from a
// page of another origin and it may change something (any method but GET,
// HEAD and OPTIONS): then it answers 403 and returns false. Browsers say so
// in Sec-Fetch-Site, or, older ones, in an Origin that does not match the
// Host; a client that is not a browser sends neither and passes (see
// http.CrossOriginProtection). A page of another origin could otherwise
// pause and resume schedules (a POST without a body needs no preflight) or
// post a form. The API's own pages (/docs "Try it") are same-origin.
func (s *Server) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if s.crossOrigin.Check(r) == nil {
		return true
	}
	s.logger.InfoContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
	why := "its Origin header does not name the host it was sent to"
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "":
	case "cross-site", "same-site":
		why = "the browser says it is " + site + ", in Sec-Fetch-Site"
	default:
		why = "the browser does not say it is same-origin, in Sec-Fetch-Site"
	}
	writeProblem(w, http.StatusForbidden, "cross-origin request refused: a web page of another origin may not change anything here ("+
		why+"). Use apicron's own pages, or a client that is not a browser page (curl, a script)")
	return false
}

// bodyPatterns returns the mux patterns ("POST /targets") of the operations
// that read a request body, as Huma registers them.
func bodyPatterns(oapi *huma.OpenAPI) map[string]bool {
	patterns := map[string]bool{}
	for _, o := range operations(oapi) {
		if o.RequestBody != nil {
			patterns[strings.ToUpper(o.Method)+" "+o.Path] = true
		}
	}
	return patterns
}

// hasBody reports whether a request carries a body: a Content-Length above
// zero, or a chunked one of unknown length. A POST without a body (or with
// Content-Length: 0) has none.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// isJSONType reports whether a media type, lower case and without its
// parameters, is JSON: application/json or application/<anything>+json.
func isJSONType(mt string) bool {
	sub, ok := strings.CutPrefix(mt, "application/")
	return ok && (sub == "json" || (strings.HasSuffix(sub, "+json") && len(sub) > len("+json")))
}

// maxEchoedType is the longest media type a 415 repeats.
const maxEchoedType = 100

// requireJSONBody refuses with 415 a body that is not declared JSON, for
// the operations that read one. Huma, left to itself, reads a body without
// a Content-Type as JSON. A body without a type, or as text/plain or form
// data, is what a page of any origin may make a browser send without asking
// the API first (a CORS "simple" request: the page cannot read the answer,
// but the request is made); application/json takes a preflight, which
// apicron does not answer. Parameters (charset) are allowed and dropped:
// Huma matches the media type exactly, and JSON is UTF-8 whatever they say.
func requireJSONBody(w http.ResponseWriter, r *http.Request) bool {
	if !hasBody(r) {
		return true
	}
	const want = "the body must be JSON, sent with Content-Type: application/json"
	values := r.Header.Values("Content-Type")
	switch len(values) {
	case 0:
		writeProblem(w, http.StatusUnsupportedMediaType, want+"; this request sent one without a Content-Type")
		return false
	case 1:
	default:
		writeProblem(w, http.StatusUnsupportedMediaType, want+"; this request sent more than one Content-Type")
		return false
	}
	mt, _, err := mime.ParseMediaType(values[0])
	if err != nil {
		writeProblem(w, http.StatusUnsupportedMediaType, want+"; this request's Content-Type is not a valid media type")
		return false
	}
	if !isJSONType(mt) {
		if len(mt) > maxEchoedType {
			mt = mt[:maxEchoedType] + "..."
		}
		writeProblem(w, http.StatusUnsupportedMediaType, want+", not "+mt)
		return false
	}
	r.Header.Set("Content-Type", mt)
	return true
}
