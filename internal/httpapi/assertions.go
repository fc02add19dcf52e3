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
// sugar over its Authorization header, a secret header.
type TargetAuth struct {
	_        struct{} `json:"-" additionalProperties:"false"`
	Type     string   `json:"type" enum:"basic,bearer,none" example:"basic" doc:"none, in an update, removes the authentication"`
	Username string   `json:"username,omitempty" example:"reporter" doc:"basic: the user name (no colon)"`
	Password string   `json:"password,omitempty" example:"s3cret" doc:"basic: the password, write-only (shown as ********)"`
	Token    string   `json:"token,omitempty" doc:"bearer: the token, write-only (shown as ********)"`
}

// checkAuth converts and checks an auth body. A password or token sent as
// the mask keeps the stored one (TargetUpdate.Auth); an Authorization
// header beside it is refused unless it is the mask too (a target read and
// sent back whole).
func checkAuth(a *TargetAuth, headers map[string]string) (*apicron.TargetAuth, error) {
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") && v != apicron.MaskedValue {
			return nil, apicron.Invalid("auth", "and an Authorization header are two ways to say one thing: send one of them")
		}
	}
	d := &apicron.TargetAuth{Type: a.Type, Username: a.Username, Password: a.Password, Token: a.Token}
	if a.Type == "none" {
		if a.Username != "" || a.Password != "" || a.Token != "" {
			return nil, apicron.Invalid("auth.type", "none takes no username, password or token")
		}
		return d, nil
	}
	return d, d.Validate()
}

func newTargetAuth(headers map[string]string) *TargetAuth {
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") {
			if a := apicron.AuthOf(v); a != nil {
				return &TargetAuth{Type: a.Type, Username: a.Username, Password: a.Password, Token: a.Token}
			}
		}
	}
	return nil
}
