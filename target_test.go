package apicron_test

import (
	"strings"
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
		{
			name: "a header no longer secret, sent back masked, keeps its value rather than become the mask",
			upd: apicron.TargetUpdate{
				SecretHeaders: &[]string{},
				Headers:       &map[string]string{"X-Token": apicron.MaskedValue},
			},
			want: map[string]string{"X-Token": "t0ken"},
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

func TestTarget_ValidateURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // in the EINVALID message on field url; "" if valid
	}{
		{"http://example.com/", ""},
		{"https://example.com:1/", ""},
		{"http://127.0.0.1:65535/hook", ""},
		{"http://[::1]:8080/", ""},
		{"http://example.com:/", ""}, // an empty port is the scheme's
		{"http://example.com:{{.RunID}}/", ""},
		{"http://example.com:99999/", "port 99999 is not a TCP port: it must be from 1 to 65535"},
		{"http://example.com:65536/", "port 65536 is not a TCP port"},
		{"http://example.com:0/", "port 0 is not a TCP port"},
		{"http://[::1]:70000/", "port 70000 is not a TCP port"},
		{"http://example.com:99999999999999999999/", "is not a TCP port"},
		{"http://example.com:{{.RunID}}99999/", "port 199999 is not a TCP port"},
		{"http://example.com:http/", `invalid port ":http"`},
		{"http://example.com:8o/", `invalid port ":8o"`},
		{"ftp://example.com/", "scheme"},
		{"http://user:pw@example.com/", "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			tg := &apicron.Target{Name: "n", URL: tt.url}
			tg.Normalize()
			err := tg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v, want valid", err)
				}
				return
			}
			if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "url" || !strings.Contains(apicron.ErrorMessage(err), tt.want) {
				t.Errorf("Validate: %v, want EINVALID on url saying %q", err, tt.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want string // in the message; "" if valid
	}{
		{"nightly report", ""},
		{"café ☕", ""},
		{strings.Repeat("é", apicron.MaxNameLength), ""},
		{"", "must not be empty"},
		{"   ", "must not be empty"},
		{strings.Repeat("n", apicron.MaxNameLength+1), "at most 200 characters"},
		{"bad \xff byte", "must be valid UTF-8"},
		{"\xc3", "must be valid UTF-8"},
		{"a\x00b", "control characters"},
		{"line\nbreak", "control characters"},
	}
	for _, tt := range tests {
		err := apicron.ValidateName("name", tt.name)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidateName(%q): %v, want valid", tt.name, err)
			}
			continue
		}
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "name" || !strings.Contains(apicron.ErrorMessage(err), tt.want) {
			t.Errorf("ValidateName(%q): %v, want EINVALID on name saying %q", tt.name, err, tt.want)
		}
	}
}

// TestTarget_ValidateHeaderCase: two spellings of one header name would
// send one of their values, not always the same; they are refused, naming
// both.
func TestTarget_ValidateHeaderCase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		headers   map[string]string
		ok        bool
		spellings [2]string
	}{
		{map[string]string{"X-A": "1", "x-a": "2"}, false, [2]string{"X-A", "x-a"}},
		{map[string]string{"content-TYPE": "a", "Content-Type": "b", "X-B": "c"}, false, [2]string{"Content-Type", "content-TYPE"}},
		{map[string]string{"Host": "a.example", "host": "b.example"}, false, [2]string{"Host", "host"}},
		{map[string]string{"X-A": "1", "X-AA": "2", "x-b": "3"}, true, [2]string{}},
	} {
		tg := &apicron.Target{Name: "n", URL: "https://example.com/", Headers: tt.headers}
		tg.Normalize()
		err := tg.Validate()
		if tt.ok {
			if err != nil {
				t.Errorf("headers %v: Validate() = %v, want valid", tt.headers, err)
			}
			continue
		}
		msg := apicron.ErrorMessage(err)
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "headers" ||
			!strings.Contains(msg, `"`+tt.spellings[0]+`" and "`+tt.spellings[1]+`" differ only in case`) {
			t.Errorf("headers %v: Validate() = %v, want EINVALID on headers naming %q and %q", tt.headers, err, tt.spellings[0], tt.spellings[1])
		}
	}
	// An update that sends the mask in one spelling and a value in another.
	tg := &apicron.Target{Name: "n", URL: "https://example.com/", Headers: map[string]string{"Authorization": "Bearer old"}}
	apicron.TargetUpdate{Headers: &map[string]string{"Authorization": apicron.MaskedValue, "authorization": "Bearer new"}}.Apply(tg)
	tg.Normalize()
	if err := tg.Validate(); apicron.ErrorField(err) != "headers" {
		t.Errorf("update with two spellings of Authorization: Validate() = %v, want EINVALID on headers", err)
	}
}

func TestRateLimit_Validate(t *testing.T) {
	for _, c := range []struct {
		in    apicron.RateLimit
		burst int    // after Normalize
		field string // refused on it; "" for valid
	}{
		{apicron.RateLimit{PerSecond: 5}, 5, ""},
		{apicron.RateLimit{PerSecond: 0.5}, 1, ""},
		{apicron.RateLimit{PerSecond: 2.5}, 3, ""},
		{apicron.RateLimit{PerSecond: 5, Burst: 10}, 10, ""},
		{apicron.RateLimit{PerSecond: apicron.MaxRatePerSecond}, apicron.MaxRateBurst, ""},
		{apicron.RateLimit{PerSecond: 0}, 1, "rate_limit.per_second"},
		{apicron.RateLimit{PerSecond: -1}, 1, "rate_limit.per_second"},
		{apicron.RateLimit{PerSecond: 0.00005}, 1, "rate_limit.per_second"},
		{apicron.RateLimit{PerSecond: 10_001}, apicron.MaxRateBurst, "rate_limit.per_second"},
		{apicron.RateLimit{PerSecond: 1, Burst: -1}, -1, "rate_limit.burst"},
		{apicron.RateLimit{PerSecond: 1, Burst: 10_001}, 10_001, "rate_limit.burst"},
	} {
		r := c.in
		r.Normalize()
		if r.Burst != c.burst {
			t.Errorf("%+v normalized to burst %d, want %d", c.in, r.Burst, c.burst)
		}
		if got := apicron.ErrorField(r.Validate()); got != c.field {
			t.Errorf("%+v: refused on %q, want %q", c.in, got, c.field)
		}
	}
	a, b := apicron.RateLimit{PerSecond: 2, Burst: 10}, apicron.RateLimit{PerSecond: 5, Burst: 3}
	if got := a.Stricter(b); got != (apicron.RateLimit{PerSecond: 2, Burst: 3}) {
		t.Errorf("strictest of %v and %v: %v", a, b, got)
	}
}
