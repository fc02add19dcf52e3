package apicron_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/apicron/apicron"
)

// FuzzTargetValidate feeds Validate arbitrary names, URLs, methods, headers
// and bodies. Whatever it gets, it must not panic; what it refuses it refuses
// with an EINVALID error naming a field; and what it accepts must be
// sendable: an http(s) URL with a host and no credentials once rendered,
// header names that are tokens, values without CR, LF or NUL.
func FuzzTargetValidate(f *testing.F) {
	f.Add("api", "https://example.com/a?run={{.RunID}}", "post", "Authorization", "Bearer {{.RunID}}", "X-Token", `{"run": {{.RunID}}}`)
	f.Add("n", "http://[::1]:8080/", "GET", "X-A", "1", "", "")
	f.Add("n", "http://169.254.169.254/latest/meta-data/", "GET", "Cookie", apicron.MaskedValue, "cookie", "")
	f.Add("n", "https://user:pw@example.com/", "GET", "X A", "v", "X A", "")
	f.Add("n", "ftp://example.com/", "delete", "X-A", "a\r\nInjected: 1", "", "{{.Nope}}")
	f.Add("", "{{.ScheduleName}}", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, name, rawURL, method, headerName, headerValue, secretName, body string) {
		tg := &apicron.Target{
			Name:         name,
			URL:          rawURL,
			Method:       method,
			Headers:      map[string]string{headerName: headerValue},
			BodyTemplate: body,
		}
		if secretName != "" {
			tg.SecretHeaders = []string{secretName}
		}
		tg.Normalize()
		err := tg.Validate()
		if err2 := tg.Validate(); (err == nil) != (err2 == nil) {
			t.Fatalf("Validate is not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			var e *apicron.Error
			if !errors.As(err, &e) || e.Code != apicron.EINVALID || e.Field == "" || e.Message == "" {
				t.Fatalf("Validate() = %#v, want an EINVALID *apicron.Error with a field and a message", err)
			}
			return
		}

		rendered, err := apicron.RenderTemplate("url", tg.URL, apicron.TemplateData{RunID: 1, ScheduleID: 1, TargetID: 1, Attempt: 1})
		if err != nil {
			t.Fatalf("valid URL template %q does not render: %v", tg.URL, err)
		}
		u, err := url.Parse(rendered)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("valid target has URL %q (rendered %q): want http(s), a host and no credentials", tg.URL, rendered)
		}
		for hn, hv := range tg.Headers {
			if hn == "" || strings.ContainsAny(hn, " \t\r\n:") {
				t.Fatalf("valid target has header name %q", hn)
			}
			if strings.ContainsAny(hv, "\r\n\x00") {
				t.Fatalf("valid target has header value %q", hv)
			}
			if hv == apicron.MaskedValue && tg.IsSecretHeader(hn) {
				t.Fatalf("valid target keeps the mask as the value of secret header %q", hn)
			}
		}
		for _, sn := range tg.SecretHeaders {
			if sn == "" || strings.ContainsAny(sn, " \t\r\n:") {
				t.Fatalf("valid target has secret header name %q", sn)
			}
		}

		// A second Normalize changes nothing, and the target stays valid.
		again := *tg
		again.SecretHeaders = append([]string(nil), tg.SecretHeaders...)
		again.Normalize()
		if again.Name != tg.Name || again.URL != tg.URL || again.Method != tg.Method || len(again.SecretHeaders) != len(tg.SecretHeaders) {
			t.Fatalf("Normalize is not idempotent: %+v, then %+v", tg, again)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("normalized again, a valid target is invalid: %v", err)
		}
	})
}
