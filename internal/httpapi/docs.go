package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The two documentation pages, /docs (Stoplight Elements) and /redoc (ReDoc),
// load their scripts and styles from this binary, not from a CDN, so they
// render on a network with no internet access. The files are copied
// unchanged from npm packages; assets/README.md says which and how to update
// them.
//
//go:embed assets
var docsAssets embed.FS

// The assets are served under docsAssetsPrefix, from folders whose names
// carry the package version, so a URL always names the same bytes and can be
// cached for good.
const (
	docsAssetsPrefix = "/docs/assets/"
	elementsAssets   = docsAssetsPrefix + "elements-8.5.2/"
	redocAssets      = docsAssetsPrefix + "redoc-2.5.4/"
)

// docsAssetTypes are the only files served from assets/, by extension.
var docsAssetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// docsCSP keeps both pages on this host: the browser loads scripts, styles,
// fonts and images, and sends API calls (Elements' "Try it"), to this origin
// only. Inline styles are allowed because both renderers set them at run
// time, and blob workers because ReDoc runs its search index in one.
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; font-src 'self' data:; " +
	"form-action 'none'; frame-ancestors 'none'; img-src 'self' data:; script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"

// docsPage shows the OpenAPI document with Stoplight Elements. It replaces
// Huma's own /docs page, which loads Elements from a CDN. The alternate links
// name the documents for tools and readers; Elements reads the JSON one. Its
// one field is the API's title (APP_TITLE).
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{.}} API reference</title>
    <link rel="alternate" type="application/json" href="/openapi.json">
    <link rel="alternate" type="application/yaml" href="/openapi.yaml">
    <link rel="stylesheet" href="` + elementsAssets + `styles.min.css">
    <script src="` + elementsAssets + `web-components.min.js"></script>
  </head>
  <body style="height: 100vh;">
    <elements-api
      apiDescriptionUrl="/openapi.json"
      router="hash"
      layout="sidebar"
      tryItCredentialsPolicy="same-origin"
    ></elements-api>
  </body>
</html>
`))

// redocPage shows the OpenAPI document with ReDoc; its field is the title.
var redocPage = template.Must(template.New("redoc").Parse(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{.}} API reference</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="` + redocAssets + `redoc.standalone.js"></script>
  </body>
</html>
`))

// docsPages renders the documentation pages for the API's title, once.
type docsPages struct {
	docs, redoc []byte
}

func newDocsPages(title string) docsPages {
	render := func(t *template.Template) []byte {
		var b bytes.Buffer
		if err := t.Execute(&b, title); err != nil {
			panic(err) // a constant template and a string: it cannot fail
		}
		return b.Bytes()
	}
	return docsPages{docs: render(docsPage), redoc: render(redocPage)}
}

// serveRoot sends a browser, or anyone, from / to the API reference, until
// the dashboard lives there.
func serveRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/docs", http.StatusFound)
}

func (s *Server) serveDocs(w http.ResponseWriter, _ *http.Request) {
	writeDocsPage(w, s.pages.docs)
}

func (s *Server) serveRedoc(w http.ResponseWriter, _ *http.Request) {
	writeDocsPage(w, s.pages.redoc)
}

func writeDocsPage(w http.ResponseWriter, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", docsCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}

// serveDocsAsset serves a script or style sheet from assets/ (the route's
// {file...} is the path below docsAssetsPrefix). Anything else there, such
// as the license files, is a 404.
func serveDocsAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ctype := docsAssetTypes[path.Ext(name)]
	if ctype == "" || !fs.ValidPath(name) {
		writeProblem(w, http.StatusNotFound, "no such route: "+r.URL.Path)
		return
	}
	f, err := docsAssets.Open("assets/" + name)
	if err != nil {
		writeProblem(w, http.StatusNotFound, "no such route: "+r.URL.Path)
		return
	}
	defer f.Close()
	content, ok := f.(io.ReadSeeker)
	if !ok { // every embed.FS file is one; a directory is not
		writeProblem(w, http.StatusNotFound, "no such route: "+r.URL.Path)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, content)
}
