package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// crlf ends every line with CRLF, as a browser sends a textarea's.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// OAuth 2.0 client credentials, a client certificate and the retry backoff
// are made and edited from the target form: the secret and the key are
// write-only, shown masked, and kept when their masks come back; the
// certificate is removed when asked; a mask with nothing stored behind it
// is refused on its field.
func TestTargetForm_OAuth2ClientCertBackoff(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	cert, key := storetest.ClientCertPair(t, "billing-client")
	v := url.Values{"name": {"billing"}, "method": {"POST"}, "url": {"https://billing.example/hook"}, "retry_default": {"on"},
		"auth": {"oauth2_client_credentials"}, "oauth2_token_url": {"https://auth.example/token"}, "oauth2_client_id": {"apicron"},
		"oauth2_client_secret": {"cl1ent-s3cret"}, "oauth2_scopes": {" billing:write  audit "}, "oauth2_audience": {"https://billing.example"},
		"client_cert_pem": {crlf(cert)}, "client_key_pem": {crlf(key)}, "max_retries": {"3"},
		"retry_backoff_ms": {"250"}, "retry_max_backoff_ms": {"4000"}}
	code, loc, body := e.post(t, "/ui/targets", v)
	if code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", code, body)
	}
	var id int64
	if _, err := fmt.Sscanf(loc, "/ui/targets/%d", &id); err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	tg, err := e.db.FindTargetByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	o := tg.OAuth2
	if o == nil || o.TokenURL != "https://auth.example/token" || o.ClientID != "apicron" || o.ClientSecret != "cl1ent-s3cret" ||
		strings.Join(o.Scopes, ",") != "billing:write,audit" || o.Audience != "https://billing.example" {
		t.Fatalf("oauth2 stored as %+v", o)
	}
	if tg.ClientCert == nil || tg.ClientCert.CertPEM != cert || tg.ClientCert.KeyPEM != key {
		t.Fatalf("client certificate stored as %+v, want the PEM pasted (LF line ends)", tg.ClientCert)
	}
	if tg.RetryBackoffMs == nil || *tg.RetryBackoffMs != 250 || tg.RetryMaxBackoffMs == nil || *tg.RetryMaxBackoffMs != 4000 {
		t.Fatalf("backoff %v..%v", tg.RetryBackoffMs, tg.RetryMaxBackoffMs)
	}

	// The edit page shows the secret and the key masked, never themselves.
	_, page := e.get(t, loc)
	for _, secret := range []string{"cl1ent-s3cret", strings.Split(key, "\n")[1]} {
		if strings.Contains(page, secret) {
			t.Fatalf("the edit page shows %q", secret)
		}
	}
	for _, want := range []string{`id="oauth2_client_secret" name="oauth2_client_secret" type="password" value="********"`,
		`placeholder="-----BEGIN PRIVATE KEY-----">********</textarea>`, "CN=billing-client,O=apicron tests, issued by CN=billing-client,O=apicron tests, expires ",
		`value="billing:write audit"`, `id="retry_backoff_ms" name="retry_backoff_ms" inputmode="numeric" value="250"`} {
		if !strings.Contains(html.UnescapeString(page), html.UnescapeString(want)) {
			t.Fatalf("the edit page lacks %s", want)
		}
	}

	// Sent back as shown, with a new scope: the secret and key are kept.
	v.Set("oauth2_client_secret", apicron.MaskedValue)
	v.Set("client_key_pem", apicron.MaskedValue)
	v.Set("client_cert_pem", cert)
	v.Set("oauth2_scopes", "billing:write")
	if code, _, body := e.post(t, loc, v); code != http.StatusSeeOther {
		t.Fatalf("save masked: %d %s", code, body)
	}
	tg, _ = e.db.FindTargetByID(ctx, id)
	if tg.OAuth2 == nil || tg.OAuth2.ClientSecret != "cl1ent-s3cret" || strings.Join(tg.OAuth2.Scopes, ",") != "billing:write" {
		t.Fatalf("after saving masks: oauth2 %+v", tg.OAuth2)
	}
	if tg.ClientCert == nil || tg.ClientCert.KeyPEM != key {
		t.Fatal("after saving masks: the client key changed")
	}

	// A new certificate with the key's mask keeps the key, which then must
	// match it: a certificate of another key is refused on client_cert.
	other, _ := storetest.ClientCertPair(t, "someone-else")
	v.Set("client_cert_pem", other)
	if code, _, body := e.post(t, loc, v); code != http.StatusUnprocessableEntity || !strings.Contains(body, "client_cert") {
		t.Fatalf("another certificate with the old key: %d, want 422 on client_cert", code)
	}

	// Removing the certificate; none removes OAuth 2.0.
	v.Set("client_cert_pem", cert)
	v.Set("client_cert_remove", "on")
	v.Set("auth", "none")
	if code, _, body := e.post(t, loc, v); code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", code, body)
	}
	tg, _ = e.db.FindTargetByID(ctx, id)
	if tg.ClientCert != nil || tg.OAuth2 != nil {
		t.Fatalf("after removing: cert %v oauth2 %v", tg.ClientCert != nil, tg.OAuth2)
	}

	// Masks with nothing stored behind them are refused on their fields.
	for field, bad := range map[string]url.Values{
		"auth.client_secret": {"oauth2_client_secret": {apicron.MaskedValue}, "auth": {"oauth2_client_credentials"},
			"oauth2_token_url": {"https://auth.example/token"}, "oauth2_client_id": {"apicron"}},
		"client_cert.key_pem": {"client_cert_pem": {cert}, "client_key_pem": {apicron.MaskedValue}, "auth": {"none"}},
		"retry_backoff_ms":    {"retry_backoff_ms": {"soon"}, "auth": {"none"}},
	} {
		for k, val := range map[string][]string{"name": {"billing"}, "method": {"POST"}, "url": {"https://billing.example/hook"}, "retry_default": {"on"}} {
			bad[k] = val
		}
		code, _, body := e.post(t, loc, bad)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, field) {
			t.Errorf("%s: %d, want 422 naming the field", field, code)
		}
	}
	if got, _ := e.db.FindTargetByID(ctx, id); got.OAuth2 != nil || got.ClientCert != nil || *got.RetryBackoffMs != 250 {
		t.Fatal("a refused save changed the target")
	}
}

// The schedule form sets max_parallel, catch_up_max, keep_runs and the
// schedule's own assertions; a value its policy does not use is dropped;
// blank assertions return to the target's; a bad JSON path is refused on
// assertions.
func TestScheduleForm_PoliciesAndAssertions(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET"}
	if err := e.db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	v := url.Values{"name": {"sync"}, "target_id": {fmt.Sprint(tg.ID)}, "schedule_type": {"INTERVAL"}, "interval_seconds": {"60"},
		"timezone": {"UTC"}, "overlap_policy": {"allow"}, "max_parallel": {"3"}, "misfire_policy": {"catch_up"}, "catch_up_max": {"5"},
		"keep_runs": {"100"}, "assertions": {`[{"type": "json_path", "path": "$.ok", "equals": true}]`}, "retry_interrupted": {"on"}}
	code, loc, body := e.post(t, "/ui/schedules", v)
	if code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", code, body)
	}
	list, _, err := e.db.FindSchedules(ctx, apicron.ScheduleFilter{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("schedules: %v %v", list, err)
	}
	s := list[0]
	if s.MaxParallel == nil || *s.MaxParallel != 3 || s.CatchUpMax == nil || *s.CatchUpMax != 5 || s.KeepRuns == nil || *s.KeepRuns != 100 {
		t.Fatalf("stored max_parallel %v catch_up_max %v keep_runs %v", s.MaxParallel, s.CatchUpMax, s.KeepRuns)
	}
	if !s.RetryInterrupted {
		t.Fatal("retry_interrupted not stored")
	}
	if s.Assertions == nil || len(*s.Assertions) != 1 || (*s.Assertions)[0].Type != "json_path" {
		t.Fatalf("stored assertions %v", s.Assertions)
	}
	_, page := e.get(t, fmt.Sprintf("/ui/schedules/%d/edit", s.ID))
	for _, want := range []string{`id="max_parallel" name="max_parallel" inputmode="numeric" value="3"`, `id="keep_runs" name="keep_runs" inputmode="numeric" value="100"`, "$.ok",
		`name="retry_interrupted" checked`} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Fatalf("the edit form lacks %s (after %s)", want, loc)
		}
	}

	path := fmt.Sprintf("/ui/schedules/%d", s.ID)
	v.Set("assertions", `[{"type": "json_path", "path": "$[", "equals": 1}]`)
	if code, _, body := e.post(t, path, v); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-assertions"`) {
		t.Fatalf("a bad JSON path: %d, want 422 on assertions", code)
	}
	v.Set("assertions", "")
	v.Set("overlap_policy", "skip")
	v.Set("keep_runs", "")
	v.Del("retry_interrupted") // unticked
	if code, _, body := e.post(t, path, v); code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", code, body)
	}
	got, _ := e.db.FindScheduleByID(ctx, s.ID)
	if got.MaxParallel != nil || got.KeepRuns != nil || got.Assertions != nil || got.CatchUpMax == nil || *got.CatchUpMax != 5 || got.RetryInterrupted {
		t.Fatalf("after save: max_parallel %v keep_runs %v assertions %v catch_up_max %v", got.MaxParallel, got.KeepRuns, got.Assertions, got.CatchUpMax)
	}
}
