package apicron

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Assertion types.
const (
	AssertStatus       = "status"
	AssertLatency      = "latency_ms"
	AssertHeader       = "header"
	AssertBodyContains = "body_contains"
	AssertBodyMatches  = "body_matches"
	AssertJSONPath     = "json_path"
)

// AssertionTypes lists the assertion types.
var AssertionTypes = []string{AssertStatus, AssertLatency, AssertHeader, AssertBodyContains, AssertBodyMatches, AssertJSONPath}

// ErrAssertion is the error type of a run whose response failed an assertion.
const ErrAssertion = "assertion"

// MaxAssertions is the most assertions a target or schedule has.
const MaxAssertions = 20

// MaxAssertionText bounds an assertion's strings (a value, a regex, a path).
const MaxAssertionText = 1000

// Assertion is one success check on a response; a run succeeds when all of
// its target's (or schedule's) hold. The JSON shape is the API's:
//
//	{"type": "status", "in": ["2xx", 304]}
//	{"type": "latency_ms", "below": 500}
//	{"type": "header", "name": "Content-Type", "matches": "json"}   (or "equals")
//	{"type": "body_contains", "value": "ok"}
//	{"type": "body_matches", "regex": "\"status\":\\s*\"up\""}
//	{"type": "json_path", "path": "$.status", "equals": "up"}       (or exists, not_equals, below, above)
type Assertion struct {
	Type      string            `json:"type"`
	In        []json.RawMessage `json:"in,omitempty"`
	Below     *float64          `json:"below,omitempty"`
	Above     *float64          `json:"above,omitempty"`
	Name      string            `json:"name,omitempty"`
	Matches   string            `json:"matches,omitempty"`
	Value     string            `json:"value,omitempty"`
	Regex     string            `json:"regex,omitempty"`
	Path      string            `json:"path,omitempty"`
	Exists    *bool             `json:"exists,omitempty"`
	Equals    json.RawMessage   `json:"equals,omitempty"`
	NotEquals json.RawMessage   `json:"not_equals,omitempty"`
}

// StatusRange is a set of status codes: one code, or a class (2xx: 200-299).
type StatusRange struct{ Lo, Hi int }

// Contains reports whether code is in r.
func (r StatusRange) Contains(code int) bool { return code >= r.Lo && code <= r.Hi }

// StatusRanges parses a status assertion's "in": codes (100-599) and
// classes ("1xx" to "5xx").
func (a *Assertion) StatusRanges() ([]StatusRange, error) {
	var out []StatusRange
	for _, raw := range a.In {
		var n int
		if err := json.Unmarshal(raw, &n); err == nil {
			if n < 100 || n > 599 {
				return nil, fmt.Errorf("status %d is not between 100 and 599", n)
			}
			out = append(out, StatusRange{n, n})
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s is neither a status code nor a class such as \"2xx\"", raw)
		}
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5' {
			lo := int(s[0]-'0') * 100
			out = append(out, StatusRange{lo, lo + 99})
			continue
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 599 {
			out = append(out, StatusRange{n, n})
			continue
		}
		return nil, fmt.Errorf("%q is neither a status code nor a class such as \"2xx\"", s)
	}
	return out, nil
}

// Describe says what a holds, in words, for an error message.
func (a *Assertion) Describe() string {
	switch a.Type {
	case AssertStatus:
		parts := make([]string, 0, len(a.In))
		for _, raw := range a.In {
			parts = append(parts, strings.Trim(string(raw), `"`))
		}
		return "status in [" + strings.Join(parts, ", ") + "]"
	case AssertLatency:
		return "latency_ms below " + formatNumber(*a.Below)
	case AssertHeader:
		if a.Matches != "" {
			return fmt.Sprintf("header %s matches %q", a.Name, a.Matches)
		}
		return fmt.Sprintf("header %s equals %s", a.Name, a.Equals)
	case AssertBodyContains:
		return fmt.Sprintf("body contains %q", a.Value)
	case AssertBodyMatches:
		return fmt.Sprintf("body matches %q", a.Regex)
	case AssertJSONPath:
		switch {
		case a.Exists != nil && *a.Exists:
			return a.Path + " exists"
		case a.Exists != nil:
			return a.Path + " does not exist"
		case a.Equals != nil:
			return fmt.Sprintf("%s equals %s", a.Path, a.Equals)
		case a.NotEquals != nil:
			return fmt.Sprintf("%s does not equal %s", a.Path, a.NotEquals)
		case a.Below != nil && a.Above != nil:
			return fmt.Sprintf("%s between %s and %s", a.Path, formatNumber(*a.Above), formatNumber(*a.Below))
		case a.Below != nil:
			return a.Path + " below " + formatNumber(*a.Below)
		case a.Above != nil:
			return a.Path + " above " + formatNumber(*a.Above)
		}
	}
	return a.Type
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// NeedsBody reports whether any of list reads the response body.
func NeedsBody(list []Assertion) bool {
	for i := range list {
		switch list[i].Type {
		case AssertBodyContains, AssertBodyMatches, AssertJSONPath:
			return true
		}
	}
	return false
}

// ValidateAssertions checks list, field naming it in errors
// ("assertions"). A JSON path's syntax is checked by the executor, which
// evaluates it; here only its presence.
func ValidateAssertions(field string, list []Assertion) error {
	if len(list) > MaxAssertions {
		return Invalid(field, "may hold at most %d assertions, got %d", MaxAssertions, len(list))
	}
	for i := range list {
		if err := list[i].validate(fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

func (a *Assertion) validate(field string) error {
	for _, s := range []string{a.Name, a.Matches, a.Value, a.Regex, a.Path, string(a.Equals), string(a.NotEquals)} {
		if len(s) > MaxAssertionText {
			return Invalid(field, "has a value over %d characters", MaxAssertionText)
		}
	}
	only := func(allowed ...string) error {
		set := map[string]bool{"in": a.In != nil, "below": a.Below != nil, "above": a.Above != nil, "name": a.Name != "",
			"matches": a.Matches != "", "value": a.Value != "", "regex": a.Regex != "", "path": a.Path != "",
			"exists": a.Exists != nil, "equals": a.Equals != nil, "not_equals": a.NotEquals != nil}
		for _, k := range allowed {
			delete(set, k)
		}
		for _, k := range []string{"in", "below", "above", "name", "matches", "value", "regex", "path", "exists", "equals", "not_equals"} {
			if set[k] {
				return Invalid(field, "a %s assertion takes no %q", a.Type, k)
			}
		}
		return nil
	}
	switch a.Type {
	case AssertStatus:
		if len(a.In) == 0 {
			return Invalid(field, `a status assertion needs "in", e.g. ["2xx", 304]`)
		}
		if _, err := a.StatusRanges(); err != nil {
			return Invalid(field, "%s", err.Error())
		}
		return only("in")
	case AssertLatency:
		if a.Below == nil || *a.Below <= 0 {
			return Invalid(field, `a latency_ms assertion needs "below", a positive number of milliseconds`)
		}
		return only("below")
	case AssertHeader:
		if strings.TrimSpace(a.Name) == "" {
			return Invalid(field, `a header assertion needs "name"`)
		}
		if (a.Matches == "") == (a.Equals == nil) {
			return Invalid(field, `a header assertion needs one of "equals" and "matches"`)
		}
		if a.Equals != nil {
			var s string
			if err := json.Unmarshal(a.Equals, &s); err != nil {
				return Invalid(field, `a header assertion's "equals" must be a string`)
			}
		}
		if a.Matches != "" {
			if _, err := regexp.Compile(a.Matches); err != nil {
				return Invalid(field, "matches is not a valid regular expression (RE2): %v", err)
			}
		}
		return only("name", "equals", "matches")
	case AssertBodyContains:
		if a.Value == "" {
			return Invalid(field, `a body_contains assertion needs a non-empty "value"`)
		}
		return only("value")
	case AssertBodyMatches:
		if a.Regex == "" {
			return Invalid(field, `a body_matches assertion needs "regex"`)
		}
		if _, err := regexp.Compile(a.Regex); err != nil {
			return Invalid(field, "regex is not a valid regular expression (RE2): %v", err)
		}
		return only("regex")
	case AssertJSONPath:
		if !strings.HasPrefix(a.Path, "$") {
			return Invalid(field, `a json_path assertion needs "path", an RFC 9535 JSONPath such as "$.status"`)
		}
		n := 0
		for _, set := range []bool{a.Exists != nil, a.Equals != nil, a.NotEquals != nil, a.Below != nil || a.Above != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return Invalid(field, `a json_path assertion needs exactly one of "exists", "equals", "not_equals", or "below" and/or "above"`)
		}
		for _, raw := range []json.RawMessage{a.Equals, a.NotEquals} {
			if raw != nil && !json.Valid(raw) {
				return Invalid(field, "equals and not_equals take a JSON value")
			}
		}
		return only("path", "exists", "equals", "not_equals", "below", "above")
	}
	return Invalid(field, "type must be one of %s, got %q", strings.Join(AssertionTypes, ", "), a.Type)
}

// AssertionFailure is the assertion a response failed, and what it saw.
type AssertionFailure struct {
	Index    int       `json:"index"`
	Type     string    `json:"type"`
	Expected string    `json:"expected"`
	Actual   string    `json:"actual"`
	Check    Assertion `json:"assertion"`
}
