package httpapi

import (
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
