package apicron_test

import (
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// TestTargetUpdate_OAuth2: oauth2 replaces a static Authorization header, a
// masked client secret keeps the stored one, bearer replaces oauth2, none
// removes both; a mask left with nothing to keep is refused.
func TestTargetUpdate_OAuth2(t *testing.T) {
	t.Parallel()
	cfg := func(secret string) *apicron.TargetAuth {
		return &apicron.TargetAuth{Type: apicron.AuthOAuth2, OAuth2: &apicron.OAuth2{TokenURL: "https://auth.example.com/token",
			ClientID: "c", ClientSecret: secret, Scopes: []string{"a"}}}
	}
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET", Headers: map[string]string{"authorization": "Bearer static"}}
	apicron.TargetUpdate{Auth: cfg("s3cret")}.Apply(tg)
	if tg.OAuth2 == nil || tg.OAuth2.ClientSecret != "s3cret" || len(tg.Headers) != 0 {
		t.Fatalf("oauth2 over a static header: %+v %v", tg.OAuth2, tg.Headers)
	}
	if err := tg.Validate(); err != nil {
		t.Fatal(err)
	}
	apicron.TargetUpdate{Auth: cfg(apicron.MaskedValue)}.Apply(tg)
	if tg.OAuth2.ClientSecret != "s3cret" {
		t.Fatalf("the mask did not keep the secret: %q", tg.OAuth2.ClientSecret)
	}
	// The mask keeps it for a token endpoint on the same host alone: sent
	// to another host, the stored secret would go to whoever named it.
	moved := *tg
	elsewhere := cfg(apicron.MaskedValue)
	elsewhere.OAuth2.TokenURL = "https://collector.example.net/token"
	apicron.TargetUpdate{Auth: elsewhere}.Apply(&moved)
	if err := moved.Validate(); apicron.ErrorCode(err) != apicron.EINVALID || err.(*apicron.Error).Field != "auth.client_secret" {
		t.Fatalf("a masked secret for a token_url on another host: %v, want refused on auth.client_secret", err)
	}
	samehost := cfg(apicron.MaskedValue)
	samehost.OAuth2.TokenURL = "https://AUTH.example.com/v2/token"
	apicron.TargetUpdate{Auth: samehost}.Apply(tg)
	if tg.OAuth2.ClientSecret != "s3cret" || tg.Validate() != nil {
		t.Fatalf("another path on the same host lost the secret: %q", tg.OAuth2.ClientSecret)
	}
	tg.Headers["Authorization"] = "Bearer x"
	if err := tg.Validate(); apicron.ErrorCode(err) != apicron.EINVALID || err.(*apicron.Error).Field != "headers.Authorization" {
		t.Fatalf("oauth2 with a static Authorization header: %v", err)
	}
	apicron.TargetUpdate{Auth: &apicron.TargetAuth{Type: apicron.AuthBearer, Token: "t0k"}}.Apply(tg)
	if tg.OAuth2 != nil || tg.Headers["Authorization"] != "Bearer t0k" {
		t.Fatalf("bearer over oauth2: %+v %v", tg.OAuth2, tg.Headers)
	}
	apicron.TargetUpdate{Auth: cfg(apicron.MaskedValue)}.Apply(tg)
	if err := tg.Validate(); apicron.ErrorCode(err) != apicron.EINVALID || err.(*apicron.Error).Field != "auth.client_secret" {
		t.Fatalf("a masked secret with none to keep: %v", err)
	}
	apicron.TargetUpdate{Auth: &apicron.TargetAuth{Type: apicron.AuthNone}}.Apply(tg)
	if tg.OAuth2 != nil || len(tg.Headers) != 0 {
		t.Fatalf("none: %+v %v", tg.OAuth2, tg.Headers)
	}
}

// TestClientCert_Validate: a pair passes; another key, a masked key, a
// chain that is not PEM certificates are refused on the field at fault; the
// masked key of an update keeps the stored one, and nil removes it.
func TestClientCert_Validate(t *testing.T) {
	t.Parallel()
	cert, key := storetest.ClientCertPair(t, "unit")
	_, other := storetest.ClientCertPair(t, "other")
	for _, tc := range []struct {
		c     apicron.ClientCert
		field string
	}{
		{apicron.ClientCert{CertPEM: cert, KeyPEM: key}, ""},
		{apicron.ClientCert{CertPEM: cert, KeyPEM: other}, "client_cert.key_pem"},
		{apicron.ClientCert{CertPEM: cert, KeyPEM: apicron.MaskedValue}, "client_cert.key_pem"},
		{apicron.ClientCert{CertPEM: key, KeyPEM: key}, "client_cert.cert_pem"},
		{apicron.ClientCert{CertPEM: cert + "trailing", KeyPEM: key}, "client_cert.cert_pem"},
		{apicron.ClientCert{CertPEM: "", KeyPEM: key}, "client_cert.cert_pem"},
	} {
		err := tc.c.Validate(true)
		if tc.field == "" && err != nil || tc.field != "" && (err == nil || err.(*apicron.Error).Field != tc.field) {
			t.Errorf("%.30q: %v, want an error on %q", tc.c.CertPEM, err, tc.field)
		}
	}
	if info := (&apicron.ClientCert{CertPEM: cert}).Info(); info.Subject != "CN=unit,O=apicron tests" || info.NotAfter.IsZero() {
		t.Errorf("info %+v", info)
	}
	tg := &apicron.Target{ClientCert: &apicron.ClientCert{CertPEM: cert, KeyPEM: key}}
	masked := &apicron.ClientCert{CertPEM: cert, KeyPEM: apicron.MaskedValue}
	apicron.TargetUpdate{ClientCert: &masked}.Apply(tg)
	if tg.ClientCert.KeyPEM != key || masked.KeyPEM != apicron.MaskedValue {
		t.Fatalf("the masked key did not keep the stored one (or the update was changed): %q", tg.ClientCert.KeyPEM)
	}
	var none *apicron.ClientCert
	apicron.TargetUpdate{ClientCert: &none}.Apply(tg)
	if tg.ClientCert != nil {
		t.Fatal("nil did not remove the certificate")
	}
}
