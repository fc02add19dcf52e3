package executor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apicron/apicron"
	"github.com/theory/jsonpath"
)

// CheckAssertions validates list as apicron.ValidateAssertions does, and
// also parses each JSON path (RFC 9535): the API refuses a bad one with 422
// before it is stored.
func CheckAssertions(field string, list []apicron.Assertion) error {
	if err := apicron.ValidateAssertions(field, list); err != nil {
		return err
	}
	for i := range list {
		if list[i].Type == apicron.AssertJSONPath {
			if _, err := compiledPath(list[i].Path); err != nil {
				return apicron.Invalid(fmt.Sprintf("%s[%d]", field, i), "path is not an RFC 9535 JSONPath: %v", err)
			}
		}
	}
	return nil
}

// Compiled paths and regular expressions, by their text: a target's
// assertions are evaluated on every run.
var (
	pathCache  sync.Map // string -> *jsonpath.Path
	regexCache sync.Map // string -> *regexp.Regexp
)

// maxCached bounds each cache; beyond it, entries are compiled per use.
const maxCached = 10_000

var (
	cacheMu       sync.Mutex
	pathN, regexN int
)

func compiledPath(p string) (*jsonpath.Path, error) {
	if v, ok := pathCache.Load(p); ok {
		return v.(*jsonpath.Path), nil
	}
	jp, err := jsonpath.Parse(p)
	if err != nil {
		return nil, err
	}
	storeBounded(&pathCache, &pathN, p, jp)
	return jp, nil
}

func compiledRegex(s string) (*regexp.Regexp, error) {
	if v, ok := regexCache.Load(s); ok {
		return v.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	storeBounded(&regexCache, &regexN, s, re)
	return re, nil
}

func storeBounded(m *sync.Map, n *int, key string, v any) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if *n >= maxCached {
		return
	}
	if _, loaded := m.LoadOrStore(key, v); !loaded {
		*n++
	}
}

// response is what assertions look at.
type response struct {
	code      int
	latencyMs float64
	header    http.Header
	body      []byte
	// cut says the body went on past what the assertions read (MaxAssertedBody).
	cut      bool
	parsed   any
	parseErr error
	parsedOK bool
}

func (r *response) json() (any, error) {
	if !r.parsedOK {
		r.parsedOK = true
		d := json.NewDecoder(bytes.NewReader(r.body))
		d.UseNumber()
		r.parseErr = d.Decode(&r.parsed)
	}
	return r.parsed, r.parseErr
}

// statusAllowed reports whether list has a status assertion, and whether
// code passes it. Without one, the seed's rule stands: 2xx is success.
func statusAllowed(list []apicron.Assertion, code int) (has bool, failed *apicron.AssertionFailure) {
	for i := range list {
		a := &list[i]
		if a.Type != apicron.AssertStatus {
			continue
		}
		has = true
		ranges, _ := a.StatusRanges() // validated when stored
		ok := false
		for _, r := range ranges {
			ok = ok || r.Contains(code)
		}
		if !ok && failed == nil {
			failed = &apicron.AssertionFailure{Index: i, Type: a.Type, Expected: a.Describe(), Actual: strconv.Itoa(code), Check: *a}
		}
	}
	return has, failed
}

// checkRest evaluates list's assertions other than status, in order, and
// returns the first that fails.
func checkRest(list []apicron.Assertion, r *response) *apicron.AssertionFailure {
	for i := range list {
		a := &list[i]
		actual, ok := check(a, r)
		if !ok {
			return &apicron.AssertionFailure{Index: i, Type: a.Type, Expected: a.Describe(), Actual: actual, Check: *a}
		}
	}
	return nil
}

// maxActual bounds the value an assertion failure quotes.
const maxActual = 200

func quote(s string) string {
	if len(s) > maxActual {
		s = s[:maxActual] + "..."
	}
	return strconv.Quote(s)
}

// check evaluates one assertion; it returns what it saw and whether it holds.
func check(a *apicron.Assertion, r *response) (string, bool) {
	switch a.Type {
	case apicron.AssertStatus:
		return "", true // statusAllowed decides
	case apicron.AssertLatency:
		return strconv.FormatFloat(r.latencyMs, 'f', 1, 64) + " ms", r.latencyMs < *a.Below
	case apicron.AssertHeader:
		vals, ok := r.header[http.CanonicalHeaderKey(a.Name)]
		if !ok {
			return "no " + a.Name + " header", false
		}
		v := strings.Join(vals, ", ")
		shown := quote(v)
		if sensitiveHeader(a.Name) {
			shown = "a value not shown (" + a.Name + " may carry a secret)"
		}
		if a.Matches != "" {
			re, err := compiledRegex(a.Matches)
			return shown, err == nil && re.MatchString(v)
		}
		var want string
		_ = json.Unmarshal(a.Equals, &want)
		return shown, v == want
	case apicron.AssertBodyContains:
		return r.bodyExcerpt(), bytes.Contains(r.body, []byte(a.Value))
	case apicron.AssertBodyMatches:
		re, err := compiledRegex(a.Regex)
		return r.bodyExcerpt(), err == nil && re.Match(r.body)
	case apicron.AssertJSONPath:
		return checkJSONPath(a, r)
	}
	return "unknown assertion type " + a.Type, false
}

func (r *response) bodyExcerpt() string {
	if len(r.body) == 0 {
		return "an empty body"
	}
	if r.cut {
		return "its first MiB (checks read no further) " + quote(string(r.body))
	}
	return "body " + quote(string(r.body))
}

// sensitiveHeader reports a response header whose value an assertion
// failure must not quote: it may carry a credential or a session.
func sensitiveHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Set-Cookie", "Authorization", "Proxy-Authorization", "Www-Authenticate", "Proxy-Authenticate", "Cookie":
		return true
	}
	return slices.ContainsFunc(apicron.DefaultSecretHeaders, func(s string) bool { return strings.EqualFold(s, name) })
}

func checkJSONPath(a *apicron.Assertion, r *response) (string, bool) {
	if r.cut {
		return "a body over 1 MiB, more than a json_path check reads", false
	}
	doc, err := r.json()
	if err != nil {
		return "a body that is not JSON (" + err.Error() + ")", false
	}
	p, err := compiledPath(a.Path)
	if err != nil {
		return "a path that does not parse: " + err.Error(), false
	}
	nodes := p.Select(doc)
	if a.Exists != nil {
		return fmt.Sprintf("%d values", len(nodes)), (len(nodes) > 0) == *a.Exists
	}
	if len(nodes) == 0 {
		return "no value at " + a.Path, false
	}
	v := nodes[0]
	seen, _ := json.Marshal(v)
	actual := string(seen) // JSON text, as the assertion's value is written
	if len(actual) > maxActual {
		actual = actual[:maxActual] + "..."
	}
	switch {
	case a.Equals != nil:
		return actual, jsonEqual(v, a.Equals)
	case a.NotEquals != nil:
		return actual, !jsonEqual(v, a.NotEquals)
	}
	n, ok := v.(json.Number)
	if !ok {
		return actual + ", not a number", false
	}
	f, err := n.Float64()
	if err != nil {
		return actual, false
	}
	return actual, (a.Below == nil || f < *a.Below) && (a.Above == nil || f > *a.Above)
}

// jsonEqual compares a decoded value (numbers as json.Number) with a JSON text.
func jsonEqual(v any, want json.RawMessage) bool {
	d := json.NewDecoder(bytes.NewReader(want))
	d.UseNumber()
	var w any
	if err := d.Decode(&w); err != nil {
		return false
	}
	return reflect.DeepEqual(normalize(v), normalize(w))
}

// normalize makes numbers comparable by value (1 and 1.0 are equal).
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}
