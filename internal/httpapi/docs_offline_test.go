package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
)

// docsNoStore is a Store that the documentation routes never call; any call
// panics on the nil interface.
type docsNoStore struct{ apicron.Store }

func newDocsServer(t *testing.T) http.Handler {
	t.Helper()
	h, err := httpapi.New(httpapi.Config{Store: docsNoStore{}})
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	return h
}

func docsGet(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// resourceAttr matches the attributes through which a page makes the browser
// fetch something: scripts, style sheets, images, frames, API descriptions.
var resourceAttr = regexp.MustCompile(`(?i)\b(src|href|apiDescriptionUrl|spec-url)\s*=\s*["']([^"']*)["']`)

// TestDocsPagesAreOffline checks that /docs and /redoc name only resources on
// this host, that the browser is told to fetch nothing from anywhere else,
// and that every asset they name is served with the right content type.
func TestDocsPagesAreOffline(t *testing.T) {
	t.Parallel()
	h := newDocsServer(t)
	for _, tc := range []struct {
		page   string
		want   []string // substrings the page must contain
		assets []string // extensions of the assets it must load
	}{
		{"/docs", []string{"<elements-api", `apiDescriptionUrl="/openapi.json"`, `router="hash"`, `layout="sidebar"`}, []string{".js", ".css"}},
		{"/redoc", []string{`<redoc spec-url="/openapi.json"`}, []string{".js"}},
	} {
		t.Run(strings.TrimPrefix(tc.page, "/"), func(t *testing.T) {
			t.Parallel()
			rec := docsGet(h, http.MethodGet, tc.page)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %q %.300s", tc.page, rec.Code, rec.Header().Get("Content-Type"), body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %s:\n%s", tc.page, w, body)
				}
			}
			// No absolute URL anywhere in the page, so none in a src or href.
			for _, scheme := range []string{"http://", "https://", "unpkg", "cdn"} {
				if strings.Contains(strings.ToLower(body), scheme) {
					t.Errorf("GET %s names %q:\n%s", tc.page, scheme, body)
				}
			}
			csp := rec.Header().Get("Content-Security-Policy")
			for _, w := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
				if !strings.Contains(csp, w) {
					t.Errorf("GET %s: Content-Security-Policy %q lacks %q", tc.page, csp, w)
				}
			}
			if strings.Contains(csp, "http") || strings.Contains(csp, "*") {
				t.Errorf("GET %s: Content-Security-Policy %q allows other hosts", tc.page, csp)
			}

			loaded := map[string]bool{}
			for _, m := range resourceAttr.FindAllStringSubmatch(body, -1) {
				url := m[2]
				if !strings.HasPrefix(url, "/") || strings.HasPrefix(url, "//") {
					t.Errorf("GET %s: %s=%q is not a path on this host", tc.page, m[1], url)
					continue
				}
				if !strings.HasPrefix(url, "/docs/assets/") {
					continue // /openapi.json and /openapi.yaml, tested elsewhere
				}
				ext := path.Ext(url)
				loaded[ext] = true
				want := map[string]string{".js": "text/javascript", ".css": "text/css"}[ext]
				a := docsGet(h, http.MethodGet, url)
				ctype := a.Header().Get("Content-Type")
				if a.Code != http.StatusOK || want == "" || !strings.HasPrefix(ctype, want) || a.Body.Len() < 1000 {
					t.Errorf("GET %s (from %s): %d %q, %d bytes; want 200 %s", url, tc.page, a.Code, ctype, a.Body.Len(), want)
				}
				if cc := a.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
					t.Errorf("GET %s: Cache-Control %q", url, cc)
				}
				if a.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("GET %s: X-Content-Type-Options %q", url, a.Header().Get("X-Content-Type-Options"))
				}
			}
			for _, ext := range tc.assets {
				if !loaded[ext] {
					t.Errorf("GET %s loads no %s asset from /docs/assets/:\n%s", tc.page, ext, body)
				}
			}
		})
	}
}

// TestDocsAssetsServeOnlyScriptsAndStyles checks the edges of /docs/assets/:
// license files, folders and unknown names are 404s (problem+json like any
// unknown route), HEAD works, and a range request gets a part.
func TestDocsAssetsServeOnlyScriptsAndStyles(t *testing.T) {
	t.Parallel()
	h := newDocsServer(t)
	page := docsGet(h, http.MethodGet, "/redoc").Body.String()
	m := regexp.MustCompile(`src="(/docs/assets/[^"]+\.js)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("/redoc names no script under /docs/assets/:\n%s", page)
	}
	script := m[1]
	dir := path.Dir(script)

	for _, p := range []string{dir + "/LICENSE", dir + "/redoc.standalone.js.LICENSE.txt", dir, dir + "/", "/docs/assets/README.md", "/docs/assets/nope.js", "/docs/assets/"} {
		rec := docsGet(h, http.MethodGet, p)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %q, want a 404 problem", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}

	full := docsGet(h, http.MethodGet, script)
	head := docsGet(h, http.MethodHead, script)
	if head.Code != http.StatusOK || head.Header().Get("Content-Length") != full.Header().Get("Content-Length") || head.Body.Len() != 0 {
		t.Errorf("HEAD %s: %d, Content-Length %q (GET: %q), %d body bytes", script, head.Code, head.Header().Get("Content-Length"), full.Header().Get("Content-Length"), head.Body.Len())
	}

	req := httptest.NewRequest(http.MethodGet, script, nil)
	req.Header.Set("Range", "bytes=0-9")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != full.Body.String()[:10] {
		t.Errorf("GET %s bytes=0-9: %d %q", script, rec.Code, rec.Body.String())
	}

	if rec := docsGet(h, http.MethodPost, script); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", script, rec.Code)
	}
}

// TestDocsPagesTitle checks that both pages are titled with the API's title
// (APP_TITLE), escaped, as the OpenAPI document's info.title is.
func TestDocsPagesTitle(t *testing.T) {
	t.Parallel()
	for title, want := range map[string]string{
		"":                      "<title>apicron API reference</title>",
		"Billing jobs":          "<title>Billing jobs API reference</title>",
		`Jobs <b>&</b> "crons"`: "<title>Jobs &lt;b&gt;&amp;&lt;/b&gt; &#34;crons&#34; API reference</title>",
	} {
		h, err := httpapi.New(httpapi.Config{Store: docsNoStore{}, Title: title})
		if err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{"/docs", "/redoc"} {
			body := docsGet(h, http.MethodGet, page).Body.String()
			if !strings.Contains(body, want) {
				t.Errorf("title %q: GET %s lacks %s:\n%s", title, page, want, body)
			}
		}
	}
}
