package apicron_test

import (
	"testing"

	"github.com/apicron/apicron"
)

func TestTarget_IsSecretHeader(t *testing.T) {
	t.Parallel()
	tg := &apicron.Target{SecretHeaders: []string{"X-Token"}}
	for name, want := range map[string]bool{
		"Authorization":       true,
		"authorization":       true,
		"PROXY-AUTHORIZATION": true,
		"Cookie":              true,
		"x-api-key":           true,
		"x-token":             true,
		"X-Other":             false,
		"Content-Type":        false,
	} {
		if got := tg.IsSecretHeader(name); got != want {
			t.Errorf("IsSecretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestTargetUpdate_ApplyKeepsMaskedSecrets(t *testing.T) {
	t.Parallel()
	stored := func() *apicron.Target {
		return &apicron.Target{
			Name: "n", URL: "https://example.com/", Method: "GET",
			Headers:       map[string]string{"authorization": "Bearer s3cret", "X-Token": "t0ken", "X-Plain": "p"},
			SecretHeaders: []string{"x-token"},
		}
	}
	tests := []struct {
		name    string
		upd     apicron.TargetUpdate
		want    map[string]string
		wantErr string // field of the expected EINVALID error
	}{
		{
			name: "masks sent back keep the stored values, in any case",
			upd: apicron.TargetUpdate{Headers: &map[string]string{
				"Authorization": apicron.MaskedValue, "X-Token": apicron.MaskedValue, "X-Plain": "q",
			}},
			want: map[string]string{"Authorization": "Bearer s3cret", "X-Token": "t0ken", "X-Plain": "q"},
		},
		{
			name: "a new value replaces the secret",
			upd:  apicron.TargetUpdate{Headers: &map[string]string{"Authorization": "Bearer new"}},
			want: map[string]string{"Authorization": "Bearer new"},
		},
		{
			name:    "the mask of a secret the target lacks is refused",
			upd:     apicron.TargetUpdate{Headers: &map[string]string{"Cookie": apicron.MaskedValue}},
			wantErr: "headers.Cookie",
		},
		{
			name: "the mask of a header that is not secret is a value",
			upd:  apicron.TargetUpdate{Headers: &map[string]string{"X-Plain": apicron.MaskedValue}},
			want: map[string]string{"X-Plain": apicron.MaskedValue},
		},
		{
			name: "a header made secret in the same update keeps its value",
			upd: apicron.TargetUpdate{
				SecretHeaders: &[]string{"X-Plain"},
				Headers:       &map[string]string{"X-Plain": apicron.MaskedValue},
			},
			want: map[string]string{"X-Plain": "p"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := stored()
			tt.upd.Apply(tg)
			tg.Normalize()
			err := tg.Validate()
			if tt.wantErr != "" {
				if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != tt.wantErr {
					t.Fatalf("Validate() = %v, want EINVALID on %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if len(tg.Headers) != len(tt.want) {
				t.Fatalf("headers = %v, want %v", tg.Headers, tt.want)
			}
			for k, v := range tt.want {
				if tg.Headers[k] != v {
					t.Errorf("headers[%q] = %q, want %q", k, tg.Headers[k], v)
				}
			}
		})
	}
}

func TestTarget_ValidateSecretHeaders(t *testing.T) {
	t.Parallel()
	many := make([]string, apicron.MaxSecretHeaders+1)
	for i := range many {
		many[i] = "X-S" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, tt := range []struct {
		names []string
		ok    bool
	}{
		{nil, true},
		{[]string{"X-Token", "x-token", " X-Other "}, true},
		{many[:apicron.MaxSecretHeaders], true},
		{many, false},
		{[]string{"X Token"}, false},
		{[]string{""}, false},
		{[]string{"X-Token:"}, false},
	} {
		tg := &apicron.Target{Name: "n", URL: "https://example.com/", SecretHeaders: tt.names}
		tg.Normalize()
		err := tg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("secret_headers %q: Validate() = %v, want ok %v", tt.names, err, tt.ok)
		}
		if err != nil && apicron.ErrorField(err) != "secret_headers" {
			t.Errorf("secret_headers %q: error on %q, want secret_headers", tt.names, apicron.ErrorField(err))
		}
	}
	tg := &apicron.Target{Name: "n", URL: "https://example.com/", SecretHeaders: []string{"x-token", "X-TOKEN", " Y "}}
	tg.Normalize()
	if len(tg.SecretHeaders) != 2 || tg.SecretHeaders[0] != "x-token" || tg.SecretHeaders[1] != "Y" {
		t.Errorf("normalized secret_headers = %q, want [x-token Y]", tg.SecretHeaders)
	}
}
