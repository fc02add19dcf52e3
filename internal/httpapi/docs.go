package httpapi

import (
	"net/http"
)

// redocPage shows the OpenAPI document with ReDoc. Like Huma's /docs page it
// loads its script from a CDN, so it needs the browser to be online.
const redocPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>apicron API reference</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="https://unpkg.com/redoc@2.5.4/bundles/redoc.standalone.js" crossorigin></script>
  </body>
</html>
`

func serveRedoc(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(redocPage))
}
