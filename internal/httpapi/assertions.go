package httpapi

import (
	"encoding/json"
	"strings"

	"github.com/apicron/apicron"
)

// Assertion is one success check, as the API takes and shows it.
type Assertion struct {
	_         struct{} `json:"-" additionalProperties:"false"`
	Type      string   `json:"type" enum:"status,latency_ms,header,body_contains,body_matches,json_path" example:"status"`
	In        []any    `json:"in,omitempty" doc:"status: the codes that succeed, as numbers (304) and classes (\"2xx\")" example:"[\"2xx\", 304]"`
	Below     *float64 `json:"below,omitempty" doc:"latency_ms: the latency must be under it; json_path: the number must be under it"`
	Above     *float64 `json:"above,omitempty" doc:"json_path: the number must be over it"`
	Name      string   `json:"name,omitempty" doc:"header: the response header's name"`
	Matches   string   `json:"matches,omitempty" doc:"header: an RE2 regular expression its value must match"`
	Value     string   `json:"value,omitempty" doc:"body_contains: the text the body must contain"`
	Regex     string   `json:"regex,omitempty" doc:"body_matches: an RE2 regular expression the body must match"`
	Path      string   `json:"path,omitempty" doc:"json_path: an RFC 9535 JSONPath into the JSON body, e.g. $.status; the first value it selects is compared" example:"$.status"`
	Exists    *bool    `json:"exists,omitempty" doc:"json_path: the path must (true) or must not (false) select a value"`
	Equals    any      `json:"equals,omitempty" doc:"header: the value, a string; json_path: the JSON value the path must select"`
	NotEquals any      `json:"not_equals,omitempty" doc:"json_path: a JSON value the path must not select"`
}

func toAssertions(in []Assertion) ([]apicron.Assertion, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]apicron.Assertion, 0, len(in))
	for _, a := range in {
		d := apicron.Assertion{Type: a.Type, Below: a.Below, Above: a.Above, Name: a.Name, Matches: a.Matches, Value: a.Value,
			Regex: a.Regex, Path: a.Path, Exists: a.Exists}
		for _, v := range a.In {
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			d.In = append(d.In, raw)
		}
		var err error
		if d.Equals, err = rawJSON(a.Equals); err != nil {
			return nil, err
		}
		if d.NotEquals, err = rawJSON(a.NotEquals); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func rawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func fromAssertions(in []apicron.Assertion) []Assertion {
	out := make([]Assertion, 0, len(in))
	for _, d := range in {
		a := Assertion{Type: d.Type, Below: d.Below, Above: d.Above, Name: d.Name, Matches: d.Matches, Value: d.Value,
			Regex: d.Regex, Path: d.Path, Exists: d.Exists}
		for _, raw := range d.In {
			var v any
			_ = json.Unmarshal(raw, &v)
			a.In = append(a.In, v)
		}
		if d.Equals != nil {
			_ = json.Unmarshal(d.Equals, &a.Equals)
		}
		if d.NotEquals != nil {
			_ = json.Unmarshal(d.NotEquals, &a.NotEquals)
		}
		out = append(out, a)
	}
	return out
}

// FailedAssertion is the check a run's response failed.
type FailedAssertion struct {
	Index     int       `json:"index" doc:"Its position in the list, from 0"`
	Type      string    `json:"type"`
	Expected  string    `json:"expected" example:"latency_ms below 500"`
	Actual    string    `json:"actual" example:"734.2 ms"`
	Assertion Assertion `json:"assertion"`
}

func newFailedAssertion(f *apicron.AssertionFailure) *FailedAssertion {
	if f == nil {
		return nil
	}
	return &FailedAssertion{Index: f.Index, Type: f.Type, Expected: f.Expected, Actual: f.Actual,
		Assertion: fromAssertions([]apicron.Assertion{f.Check})[0]}
}

// checkAssertions converts and vets a list for field, with the executor's
// check when the server has one (it also parses JSON paths).
func (s *Server) checkAssertions(field string, in []Assertion) ([]apicron.Assertion, error) {
	list, err := toAssertions(in)
	if err != nil {
		return nil, apicron.Invalid(field, "%v", err)
	}
	if err := apicron.ValidateAssertions(field, list); err != nil {
		return nil, err
	}
	if s.assertionCheck != nil {
		if err := s.assertionCheck(field, list); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// TargetAuth is a target's authentication, as the API takes and shows it:
// basic and bearer are sugar over its Authorization header, a secret
// header; oauth2_client_credentials makes that header per request from a
// token it fetches.
type TargetAuth struct {
	_            struct{} `json:"-" additionalProperties:"false"`
	Type         string   `json:"type" enum:"basic,bearer,oauth2_client_credentials,none" example:"basic" doc:"none, in an update, removes the authentication"`
	Username     string   `json:"username,omitempty" example:"reporter" doc:"basic: the user name (no colon)"`
	Password     string   `json:"password,omitempty" example:"s3cret" doc:"basic: the password, write-only (shown as ********)"`
	Token        string   `json:"token,omitempty" example:"eyJhbGciOi..." doc:"bearer: the token, write-only (shown as ********)"`
	TokenURL     string   `json:"token_url,omitempty" example:"https://auth.example.com/oauth/token" doc:"oauth2_client_credentials: the token endpoint, an absolute http or https URL without template actions (https unless it is on a trusted network: the client secret is sent to it). Reached under the same outbound policy as targets; redirects are not followed"`
	ClientID     string   `json:"client_id,omitempty" example:"apicron-reporter" doc:"oauth2_client_credentials: the client id"`
	ClientSecret string   `json:"client_secret,omitempty" example:"cl1ent-s3cret" doc:"oauth2_client_credentials: the client secret, write-only (shown as ********; sent back as ******** it keeps the stored one), encrypted at rest with SECRET_KEY. Sent to the token endpoint by HTTP Basic authentication"`
	Scopes       []string `json:"scopes,omitempty" maxItems:"50" example:"[\"reports:write\", \"reports:read\"]" doc:"oauth2_client_credentials: the scopes asked for (the scope parameter, space-separated); none: the server's default"`
	Audience     string   `json:"audience,omitempty" example:"https://api.example.com" doc:"oauth2_client_credentials: sent as the audience parameter of the token request, which some providers (Auth0, Okta) ask for"`
}

// checkAuth converts and checks an auth body. A password, token or client
// secret sent as the mask keeps the stored one (TargetUpdate.Auth); an
// Authorization header beside it is refused unless it is the mask too (a
// target read and sent back whole).
func checkAuth(a *TargetAuth, headers map[string]string) (*apicron.TargetAuth, error) {
	d := &apicron.TargetAuth{Type: a.Type, Username: a.Username, Password: a.Password, Token: a.Token}
	oauth2Fields := a.TokenURL != "" || a.ClientID != "" || a.ClientSecret != "" || a.Scopes != nil || a.Audience != ""
	switch a.Type {
	case apicron.AuthNone:
		if a.Username != "" || a.Password != "" || a.Token != "" || oauth2Fields {
			return nil, apicron.Invalid("auth.type", "none takes no other field")
		}
	case apicron.AuthOAuth2:
		d.OAuth2 = &apicron.OAuth2{TokenURL: strings.TrimSpace(a.TokenURL), ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			Scopes: a.Scopes, Audience: a.Audience}
	default:
		if oauth2Fields {
			return nil, apicron.Invalid("auth.type", "token_url, client_id, client_secret, scopes and audience are for oauth2_client_credentials")
		}
	}
	return d, d.CheckWith(headers)
}

// newTargetAuth is t's authentication, secrets masked.
func newTargetAuth(t *apicron.Target) *TargetAuth {
	if o := t.OAuth2; o != nil {
		m := o.Masked()
		return &TargetAuth{Type: apicron.AuthOAuth2, TokenURL: m.TokenURL, ClientID: m.ClientID, ClientSecret: m.ClientSecret,
			Scopes: m.Scopes, Audience: m.Audience}
	}
	for k, v := range t.Headers {
		if strings.EqualFold(k, "Authorization") {
			if a := apicron.AuthOf(v); a != nil {
				return &TargetAuth{Type: a.Type, Username: a.Username, Password: a.Password, Token: a.Token}
			}
		}
	}
	return nil
}

// ClientCert is a target's TLS client certificate, as the API takes and
// shows it. subject, issuer and not_after are read from the certificate:
// sent back in an update they are ignored.
type ClientCert struct {
	CertPEM  string `json:"cert_pem" minLength:"1" maxLength:"65536" example:"-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n" doc:"The PEM certificate chain, the target's client certificate first, then any intermediates"`
	KeyPEM   string `json:"key_pem" minLength:"1" maxLength:"65536" example:"-----BEGIN PRIVATE KEY-----\nMIGH...\n-----END PRIVATE KEY-----\n" doc:"The PEM private key of the first certificate (PKCS #8, PKCS #1 or SEC 1, unencrypted), write-only: shown as ********, and ******** sent back keeps the stored key. Encrypted at rest with SECRET_KEY"`
	Subject  string `json:"subject,omitempty" readOnly:"true" example:"CN=apicron,O=Example" doc:"The first certificate's subject (read-only)"`
	Issuer   string `json:"issuer,omitempty" readOnly:"true" example:"CN=Example Client CA" doc:"The first certificate's issuer (read-only)"`
	NotAfter string `json:"not_after,omitempty" readOnly:"true" format:"date-time" example:"2027-01-31T00:00:00.000Z" doc:"When the first certificate expires (read-only); after that the target's server will refuse it"`
}

func (c *ClientCert) domain() *apicron.ClientCert {
	return &apicron.ClientCert{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
}

// newClientCert is c as the API shows it, the key masked; nil for none.
func newClientCert(c *apicron.ClientCert) *ClientCert {
	if c == nil {
		return nil
	}
	info := c.Info()
	out := &ClientCert{CertPEM: c.CertPEM, KeyPEM: apicron.MaskedValue, Subject: info.Subject, Issuer: info.Issuer}
	if !info.NotAfter.IsZero() {
		out.NotAfter = formatTime(info.NotAfter)
	}
	return out
}
