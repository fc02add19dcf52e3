package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A browser that opens a page of an apicron with tokens cannot send the
// Authorization header, and a JSON problem tells its user little. It gets
// authPage instead: what the API needs, and how to call it and read its
// reference with a token. The page loads nothing; its one inline style is
// allowed by its hash.

const authPageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#222}` +
	`code,pre{font-family:ui-monospace,monospace}pre{background:#f3f3f3;padding:.75rem 1rem;overflow-x:auto}`

// authPageCSP allows the page nothing but its own style sheet.
var authPageCSP = func() string {
	sum := sha256.Sum256([]byte(authPageStyle))
	return "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; style-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var authPage = template.Must(template.New("auth").Parse(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{.Title}}: access token needed</title>
    <style>` + authPageStyle + `</style>
  </head>
  <body>
    <h1>{{.Title}} needs an access token</h1>
    <p>{{.Reason}} Every request but <code>/health</code> sends one in the header
      <code>Authorization: Bearer &lt;token&gt;</code>: a token of <code>API_TOKEN</code> may do
      everything, one of <code>API_READ_TOKEN</code> only GET and HEAD.</p>
    <h2>Call the API</h2>
    <pre><code>curl -H "Authorization: Bearer $API_TOKEN" {{.Origin}}/targets</code></pre>
    <h2>Read the API reference</h2>
    <p>The OpenAPI document describes every operation; an OpenAPI viewer or a client generator reads it:</p>
    <pre><code>curl -H "Authorization: Bearer $API_TOKEN" {{.Origin}}/openapi.json</code></pre>
    <p>On the server, <code>apicron openapi</code> prints the same document without a token.</p>
    <p>A browser cannot add the header by itself, so the reference pages (<code>/docs</code>, <code>/redoc</code>)
      do not open here yet: a browser login comes with the dashboard.</p>
  </body>
</html>
`))

// wantsHTML reports whether the request asks for HTML, as a browser
// opening a page does (Accept: text/html,...).
func wantsHTML(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "text/html" {
				continue
			}
			if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
				continue // "not HTML"
			}
			return true
		}
	}
	return false
}

// writeUnauthorized answers a request without a valid token: with authPage
// when it asks for HTML, with a problem otherwise. The challenge is set by
// the caller.
func (s *Server) writeUnauthorized(w http.ResponseWriter, r *http.Request, detail, reason string) {
	if !wantsHTML(r) {
		writeProblem(w, http.StatusUnauthorized, detail)
		return
	}
	if s.ui != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The dashboard's login page sets a session this API accepts.
		http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", authPageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_ = authPage.Execute(w, struct{ Title, Reason, Origin string }{s.title, reason, scheme + "://" + r.Host})
}
