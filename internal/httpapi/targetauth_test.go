package httpapi_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

type testResult struct {
	Status       string  `json:"status"`
	ErrorType    *string `json:"error_type"`
	ErrorMessage *string `json:"error_message"`
}

func testTarget(t *testing.T, e *testEnv, id int64) testResult {
	t.Helper()
	var res testResult
	e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", id), nil, http.StatusOK, &res)
	return res
}

// getWhole returns a target as GET shows it, as a map to send back.
func getWhole(t *testing.T, e *testEnv, id int64) map[string]any {
	t.Helper()
	var whole map[string]any
	if err := json.Unmarshal(e.do(t, http.MethodGet, fmt.Sprintf("/targets/%d", id), nil).body, &whole); err != nil {
		t.Fatal(err)
	}
	return whole
}

// TestTargets_OAuth2: a target with oauth2_client_credentials gets its
// token from a loopback endpoint that checks the credentials and sends it to
// a target that checks the token; the API shows the configuration with the
// secret masked, keeps the secret when the mask comes back, refuses what
// does not hold together, and none removes it. A refused secret is a
// FAILED oauth2 run whose message does not hold it.
func TestTargets_OAuth2(t *testing.T) {
	t.Parallel()
	var tokenRequests atomic.Int64
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tokenRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if id, secret, _ := r.BasicAuth(); id != "reporter" || secret != "cl1ent-s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": "invalid_client"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token": "tok-%d-%s", "token_type": "Bearer", "expires_in": 3600}`, n, strings.ReplaceAll(r.FormValue("scope"), " ", "+"))
	}))
	t.Cleanup(tokens.Close)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(target.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		exec := executor.New(executor.Config{Policy: mustPolicy(t, []string{"127.0.0.0/8"}, false)})
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Executor = exec })
		var tg struct {
			ID   int64          `json:"id"`
			Auth map[string]any `json:"auth"`
		}
		body := fmt.Sprintf(`{"name": "o", "url": "%s/", "auth": {"type": "oauth2_client_credentials", "token_url": "%s/token",
			"client_id": "reporter", "client_secret": "cl1ent-s3cret", "scopes": ["a", "b"], "audience": "aud"}}`, target.URL, tokens.URL)
		r := e.expect(t, http.MethodPost, "/targets", body, http.StatusCreated, &tg)
		if tg.Auth["type"] != "oauth2_client_credentials" || tg.Auth["client_secret"] != "********" || tg.Auth["client_id"] != "reporter" ||
			tg.Auth["token_url"] != tokens.URL+"/token" || tg.Auth["audience"] != "aud" || fmt.Sprint(tg.Auth["scopes"]) != "[a b]" ||
			strings.Contains(string(r.body), "s3cret") {
			t.Fatalf("created %s", r.body)
		}
		if res := testTarget(t, e, tg.ID); res.Status != "SUCCESS" {
			t.Fatalf("test: %+v", res)
		}
		before := tokenRequests.Load()

		// Sent back whole with another scope: the masked secret is kept, and
		// the edited configuration fetches a token of its own with it.
		whole := getWhole(t, e, tg.ID)
		whole["auth"].(map[string]any)["scopes"] = []string{"c"}
		back, _ := json.Marshal(map[string]any{"name": "renamed", "auth": whole["auth"], "headers": whole["headers"]})
		e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", tg.ID), string(back), http.StatusOK, nil)
		if res := testTarget(t, e, tg.ID); res.Status != "SUCCESS" || tokenRequests.Load() != before+1 {
			t.Fatalf("after the masked secret was sent back: %+v, %d token requests, want SUCCESS and a new token", res, tokenRequests.Load()-before)
		}

		// A wrong secret: FAILED oauth2, the message naming the endpoint, not the secret.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), fmt.Sprintf(`{"auth": {"type": "oauth2_client_credentials",
			"token_url": "%s/token", "client_id": "reporter", "client_secret": "wr0ng-s3cret"}}`, tokens.URL), http.StatusOK, nil)
		res := testTarget(t, e, tg.ID)
		if res.Status != "FAILED" || res.ErrorType == nil || *res.ErrorType != "oauth2" || res.ErrorMessage == nil ||
			!strings.Contains(*res.ErrorMessage, tokens.URL+"/token") || !strings.Contains(*res.ErrorMessage, "401") ||
			strings.Contains(*res.ErrorMessage, "s3cret") {
			t.Fatalf("with a wrong secret: %+v %v", res, *res.ErrorMessage)
		}

		oauth := func(extra string) string {
			return fmt.Sprintf(`{"auth": {"type": "oauth2_client_credentials", "token_url": "%s/token", "client_id": "reporter", "client_secret": "x"%s}}`,
				tokens.URL, extra)
		}
		e.expectProblem(t, http.MethodPost, "/targets", `{"name": "m", "url": "https://example.com/", "auth": {"type": "oauth2_client_credentials",
			"token_url": "https://auth.example.com/token", "client_id": "c", "client_secret": "********"}}`, http.StatusUnprocessableEntity, "body.auth.client_secret")
		for _, bad := range []struct{ body, loc string }{
			{strings.Replace(oauth(""), `"client_secret": "x"`, `"client_secret": ""`, 1), "body.auth.client_secret"},
			{strings.Replace(oauth(""), `"client_id": "reporter"`, `"client_id": ""`, 1), "body.auth.client_id"},
			{strings.Replace(oauth(""), tokens.URL+"/token", "ftp://auth.example.com/token", 1), "body.auth.token_url"},
			{strings.Replace(oauth(""), tokens.URL+"/token", "https://auth.example.com/{{.RunID}}", 1), "body.auth.token_url"},
			{oauth(`, "scopes": ["a b"]`), "body.auth.scopes"},
			{oauth(`}, "headers": {"Authorization": "Bearer y"`), "body.auth"},
			{strings.Replace(oauth(""), `"client_secret": "x"`, `"client_secret": "enc:v1:AAAA"`, 1), "body.auth.client_secret"},
			{`{"auth": {"type": "basic", "username": "u", "password": "p", "token_url": "https://a.example.com/"}}`, "body.auth.type"},
			{`{"auth": {"type": "none", "client_id": "c"}}`, "body.auth.type"},
			{`{"headers": {"Authorization": "Bearer static"}}`, "body.headers.Authorization"},
		} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), bad.body, http.StatusUnprocessableEntity, bad.loc)
		}

		var none struct {
			Auth    map[string]any    `json:"auth"`
			Headers map[string]string `json:"headers"`
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"auth": {"type": "none"}}`, http.StatusOK, &none)
		if none.Auth != nil {
			t.Errorf("after none: auth %v", none.Auth)
		}
		if res := testTarget(t, e, tg.ID); res.Status != "FAILED" || *res.ErrorType != "http_4xx" {
			t.Errorf("without auth: %+v, want FAILED http_4xx (401)", res)
		}
		// Bearer after oauth2, and oauth2 after bearer: each replaces the other.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"auth": {"type": "bearer", "token": "tok-static"}}`, http.StatusOK, nil)
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), oauth(""), http.StatusOK, &none)
		if none.Auth["type"] != "oauth2_client_credentials" || none.Headers["Authorization"] != "" {
			t.Errorf("oauth2 after bearer: %+v", none)
		}
	})
}

// TestTargets_ClientCert: a target's client certificate is shown with its
// subject and expiry, the key masked; the mask sent back keeps the key; a
// certificate and key that are not a pair, or are not PEM, are refused
// naming the field; null removes it. Its requests present it to a server
// that requires it, and fail there once it is removed.
func TestTargets_ClientCert(t *testing.T) {
	t.Parallel()
	cert, key := storetest.ClientCertPair(t, "api-test")
	_, otherKey := storetest.ClientCertPair(t, "other")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cert))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "api-test" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		// The test server's own client transport, which trusts its certificate.
		exec := executor.New(executor.Config{Transport: srv.Client().Transport.(*http.Transport).Clone()})
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Executor = exec })
		type certOut struct {
			CertPEM  string `json:"cert_pem"`
			KeyPEM   string `json:"key_pem"`
			Subject  string `json:"subject"`
			NotAfter string `json:"not_after"`
		}
		var tg struct {
			ID         int64    `json:"id"`
			ClientCert *certOut `json:"client_cert"`
		}
		pair, _ := json.Marshal(map[string]any{"name": "m", "url": srv.URL + "/", "client_cert": map[string]string{"cert_pem": cert, "key_pem": key}})
		r := e.expect(t, http.MethodPost, "/targets", string(pair), http.StatusCreated, &tg)
		if c := tg.ClientCert; c == nil || c.CertPEM != cert || c.KeyPEM != "********" || !strings.Contains(c.Subject, "CN=api-test") ||
			c.NotAfter == "" || strings.Contains(string(r.body), "PRIVATE KEY") {
			t.Fatalf("created %s", r.body)
		}
		if res := testTarget(t, e, tg.ID); res.Status != "SUCCESS" {
			t.Fatalf("test with the certificate: %+v", res)
		}
		// The target as GET shows it, sent back whole (subject and not_after
		// included): the masked key is kept.
		whole := getWhole(t, e, tg.ID)
		back, _ := json.Marshal(map[string]any{"name": "renamed", "client_cert": whole["client_cert"]})
		e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", tg.ID), string(back), http.StatusOK, nil)
		if stored, err := e.db.FindTargetByID(t.Context(), tg.ID); err != nil || stored.ClientCert == nil || stored.ClientCert.KeyPEM != key {
			t.Fatalf("after the masked key was sent back: %+v %v", stored, err)
		}
		if res := testTarget(t, e, tg.ID); res.Status != "SUCCESS" {
			t.Fatalf("test after the masked key was sent back: %+v", res)
		}

		certBody := func(c, k string) string {
			b, _ := json.Marshal(map[string]any{"name": "m", "url": "https://example.com/", "client_cert": map[string]string{"cert_pem": c, "key_pem": k}})
			return string(b)
		}
		for _, bad := range []struct{ body, loc string }{
			{certBody(cert, otherKey), "body.client_cert.key_pem"},
			{certBody(cert, "********"), "body.client_cert.key_pem"},
			{certBody(cert, "not a key"), "body.client_cert.key_pem"},
			{certBody("not a certificate", key), "body.client_cert.cert_pem"},
			{certBody(key, key), "body.client_cert.cert_pem"},
		} {
			e.expectProblem(t, http.MethodPost, "/targets", bad.body, http.StatusUnprocessableEntity, bad.loc)
		}
		// A new certificate with the masked key must match the stored key.
		other, _ := storetest.ClientCertPair(t, "other")
		e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), map[string]any{"client_cert": map[string]string{"cert_pem": other, "key_pem": "********"}},
			http.StatusUnprocessableEntity, "body.client_cert.key_pem")

		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"client_cert": null}`, http.StatusOK, &tg)
		if tg.ClientCert != nil {
			t.Fatalf("after null: %+v", tg.ClientCert)
		}
		if res := testTarget(t, e, tg.ID); res.Status == "SUCCESS" {
			t.Fatalf("test without the certificate: %+v, want a failure", res)
		}
	})
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
