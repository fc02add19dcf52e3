package apicron

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a target may hold. They keep one target from costing more
// than its share of memory, disk or time.
const (
	MaxNameLength         = 200
	MaxURLLength          = 2048
	MaxHeaders            = 50
	MaxHeaderBytes        = 8 << 10
	MaxBodyTemplateBytes  = 64 << 10
	MaxTimeoutSeconds     = 3600
	MaxRetriesLimit       = 10
	MaxSecretHeaders      = 50
	DefaultMethod         = "GET"
	templateSampleRunID   = 1
	templateSampleSchedID = 1
)

// Limits on what a template computes. MaxRenderedBytes bounds what one
// template (a URL, a header value or the body) renders to, and
// MaxTemplateValueBytes what one function in it (print, printf, println,
// html, js, urlquery) returns: no value a template computes is larger than
// the largest template.
const (
	MaxRenderedBytes      = 1 << 20
	MaxTemplateValueBytes = MaxBodyTemplateBytes
)

// Methods lists the HTTP methods a target may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// MaskedValue is what the API shows in place of a secret header's value.
// An update that sends it back for a secret header keeps the stored value,
// so reading a target, editing it and writing it back does not replace its
// secrets with stars.
const MaskedValue = "********"

// DefaultSecretHeaders are the request headers whose values are always
// secret, whatever a target's SecretHeaders say.
var DefaultSecretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key"}

// Target is an HTTP request apicron can send: where, how and with what.
type Target struct {
	ID             int64
	Name           string
	URL            string // may contain template actions
	Method         string
	Headers        map[string]string // values may contain template actions
	BodyTemplate   string
	TimeoutSeconds *float64 // nil: the service's DEFAULT_TIMEOUT
	MaxRetries     *int     // nil: the service's MAX_RETRIES
	// SecretHeaders names headers, besides DefaultSecretHeaders, whose values
	// are write-only: the API masks them. Compared case-insensitively.
	SecretHeaders []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TargetUpdate holds the fields of a partial update; nil leaves a field as it is.
type TargetUpdate struct {
	Name           *string
	URL            *string
	Method         *string
	Headers        *map[string]string
	BodyTemplate   *string
	TimeoutSeconds **float64 // set to a nil *float64 to clear
	MaxRetries     **int
	SecretHeaders  *[]string
}

// Apply copies the set fields of u onto t. A header value equal to
// MaskedValue, for a header that is secret in the result and that t already
// has, keeps t's value: it is the mask the API showed, sent back.
func (u TargetUpdate) Apply(t *Target) {
	if u.SecretHeaders != nil {
		t.SecretHeaders = *u.SecretHeaders
	}
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.URL != nil {
		t.URL = *u.URL
	}
	if u.Method != nil {
		t.Method = *u.Method
	}
	if u.Headers != nil {
		headers := make(map[string]string, len(*u.Headers))
		for name, v := range *u.Headers {
			if v == MaskedValue && t.IsSecretHeader(name) {
				if old, ok := lookupHeader(t.Headers, name); ok {
					v = old
				}
			}
			headers[name] = v
		}
		t.Headers = headers
	}
	if u.BodyTemplate != nil {
		t.BodyTemplate = *u.BodyTemplate
	}
	if u.TimeoutSeconds != nil {
		t.TimeoutSeconds = *u.TimeoutSeconds
	}
	if u.MaxRetries != nil {
		t.MaxRetries = *u.MaxRetries
	}
}

// Normalize canonicalizes fields that have one meaning in several spellings.
func (t *Target) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	t.URL = strings.TrimSpace(t.URL)
	t.Method = strings.ToUpper(strings.TrimSpace(t.Method))
	if t.Method == "" {
		t.Method = DefaultMethod
	}
	if t.Headers == nil {
		t.Headers = map[string]string{}
	}
	t.SecretHeaders = normalizeHeaderNames(t.SecretHeaders)
}

// IsSecretHeader reports whether the value of header name is write-only: it
// is one of DefaultSecretHeaders or of t.SecretHeaders, in any case.
func (t *Target) IsSecretHeader(name string) bool {
	for _, s := range DefaultSecretHeaders {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	for _, s := range t.SecretHeaders {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return true
		}
	}
	return false
}

// lookupHeader returns the value of header name in h: the exact key if
// present, else the first key equal to it in any case.
func lookupHeader(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// normalizeHeaderNames trims the names and drops repeats (in any case),
// keeping the first spelling; it never returns nil.
func normalizeHeaderNames(names []string) []string {
	out := make([]string, 0, len(names))
next:
	for _, n := range names {
		n = strings.TrimSpace(n)
		for _, o := range out {
			if strings.EqualFold(o, n) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// Validate returns an EINVALID error naming the first field that breaks a rule.
func (t *Target) Validate() error {
	if err := ValidateName("name", t.Name); err != nil {
		return err
	}
	if err := validateMethod(t.Method); err != nil {
		return err
	}
	if err := validateHeaders(t.Headers); err != nil {
		return err
	}
	if err := t.validateSecretHeaders(); err != nil {
		return err
	}
	if err := validateURLTemplate(t.URL); err != nil {
		return err
	}
	if len(t.BodyTemplate) > MaxBodyTemplateBytes {
		return Invalid("body_template", "must be at most %d bytes, got %d", MaxBodyTemplateBytes, len(t.BodyTemplate))
	}
	if err := checkTemplate("body_template", t.BodyTemplate); err != nil {
		return err
	}
	if t.TimeoutSeconds != nil {
		if v := *t.TimeoutSeconds; !(v > 0) || v > MaxTimeoutSeconds {
			return Invalid("timeout_seconds", "must be greater than 0 and at most %d", MaxTimeoutSeconds)
		}
	}
	if t.MaxRetries != nil {
		if v := *t.MaxRetries; v < 0 || v > MaxRetriesLimit {
			return Invalid("max_retries", "must be between 0 and %d", MaxRetriesLimit)
		}
	}
	return nil
}

// ValidateName checks a resource name: not blank, at most MaxNameLength characters.
func ValidateName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalid(field, "must not be empty")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return Invalid(field, "must be at most %d characters, got %d", MaxNameLength, n)
	}
	if !utf8.ValidString(name) {
		return Invalid(field, "must be valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

func validateMethod(m string) error {
	for _, ok := range Methods {
		if m == ok {
			return nil
		}
	}
	return Invalid("method", "must be one of %s, got %q", strings.Join(Methods, ", "), m)
}

func validateHeaders(h map[string]string) error {
	if len(h) > MaxHeaders {
		return Invalid("headers", "at most %d headers, got %d", MaxHeaders, len(h))
	}
	for name, value := range h {
		field := "headers." + name
		if !isToken(name) {
			return Invalid("headers", "header name %q is not a valid HTTP token", name)
		}
		if len(name)+len(value) > MaxHeaderBytes {
			return Invalid(field, "header must be at most %d bytes", MaxHeaderBytes)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return Invalid(field, "header value must not contain CR, LF or NUL")
		}
		if err := checkTemplate(field, value); err != nil {
			return err
		}
		// A string literal can hold "\r\n" without the text holding one.
		if strings.Contains(value, "{{") {
			if v, err := RenderTemplate(field, value, sampleTemplateData()); err == nil && strings.ContainsAny(v, "\r\n\x00") {
				return Invalid(field, "header value must not contain CR, LF or NUL once rendered")
			}
		}
	}
	return nil
}

// validateSecretHeaders checks the names in SecretHeaders, and that no
// secret header holds the mask itself: a masked value sent back keeps the
// stored one (see TargetUpdate.Apply), so one that is left had none to keep.
func (t *Target) validateSecretHeaders() error {
	if len(t.SecretHeaders) > MaxSecretHeaders {
		return Invalid("secret_headers", "at most %d header names, got %d", MaxSecretHeaders, len(t.SecretHeaders))
	}
	for _, name := range t.SecretHeaders {
		if !isToken(name) || len(name) > MaxHeaderBytes {
			return Invalid("secret_headers", "header name %q is not a valid HTTP token", name)
		}
	}
	for name, v := range t.Headers {
		if v == MaskedValue && t.IsSecretHeader(name) {
			return Invalid("headers."+name, "is the mask %s, not a value: send the real value (the mask keeps a value only when the target already has one)", MaskedValue)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validateURLTemplate(raw string) error {
	if raw == "" {
		return Invalid("url", "must not be empty")
	}
	if len(raw) > MaxURLLength {
		return Invalid("url", "must be at most %d characters, got %d", MaxURLLength, len(raw))
	}
	if err := checkTemplate("url", raw); err != nil {
		return err
	}
	// Validate the URL as it would be sent, with sample values in its actions.
	rendered, err := RenderTemplate("url", raw, sampleTemplateData())
	if err != nil {
		return Invalid("url", "%v", err)
	}
	return ValidateURL("url", rendered)
}

// ValidateURL checks that raw is an absolute http or https URL with a host.
func ValidateURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid(field, "is not a valid URL: %v", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid(field, "must be an absolute http or https URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Invalid(field, "must include a host")
	}
	if u.User != nil {
		return Invalid(field, "must not embed credentials; use an Authorization header")
	}
	return nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// TemplateData is what the URL, header values and body template of a target
// can refer to, for example {{.RunID}}.
type TemplateData struct {
	ScheduleID   int64
	ScheduleName string
	TargetID     int64
	RunID        int64
	ScheduledAt  string // RFC 3339, UTC, millisecond precision
	Attempt      int
	Now          string // RFC 3339, UTC, millisecond precision
}

// TimeFormat is how apicron writes instants: RFC 3339 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

func sampleTemplateData() TemplateData {
	at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Format(TimeFormat)
	return TemplateData{
		ScheduleID: templateSampleSchedID, ScheduleName: "sample", TargetID: 1,
		RunID: templateSampleRunID, ScheduledAt: at, Attempt: 1, Now: at,
	}
}

// checkTemplate parses text as a template and executes it against sample data,
// so a reference to an unknown field is refused when the target is saved rather
// than failing every run.
func checkTemplate(field, text string) error {
	if !strings.Contains(text, "{{") {
		return nil
	}
	if _, err := RenderTemplate(field, text, sampleTemplateData()); err != nil {
		return Invalid(field, "%v", err)
	}
	return nil
}

// RenderTemplate executes text as a text/template with data. Text without
// actions is returned as it is. What it renders is at most MaxRenderedBytes.
func RenderTemplate(name, text string, data TemplateData) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	tmpl, err := ParseTemplate(name, text)
	if err != nil {
		return "", err
	}
	buf := limitedBuffer{max: MaxRenderedBytes}
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("template does not execute: %w", err)
	}
	return buf.String(), nil
}

// errRenderedTooLarge is what a template that renders more than
// MaxRenderedBytes fails with.
var errRenderedTooLarge = fmt.Errorf("renders more than %d bytes", MaxRenderedBytes)

// limitedBuffer is a buffer that refuses to grow past max.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, errRenderedTooLarge
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string { return b.buf.String() }

// ParseTemplate parses text the way every target template is parsed: a
// reference to a missing key is an error, not "<no value>".
//
// A template runs once per request, so what it costs must follow from its
// size: {{range}} (a loop, over an integer up to 2^63) and {{template}} or
// {{block}} (calls, which can recurse or multiply) are refused, and the
// functions that build strings refuse results over MaxTemplateValueBytes.
// Without them a template of a few bytes could run for hours or fill the
// memory, when it is saved (it is executed with sample data then) as on
// every run.
func ParseTemplate(name, text string) (*template.Template, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(boundedFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template does not parse: %w", err)
	}
	// The main template first, then the defined ones by name, so that the
	// error names the same action every time.
	others := tmpl.Templates()
	slices.SortFunc(others, func(a, b *template.Template) int { return strings.Compare(a.Name(), b.Name()) })
	for _, t := range append([]*template.Template{tmpl}, others...) {
		if t.Tree == nil {
			continue
		}
		if err := refuseUnbounded(t, t.Root); err != nil {
			return nil, fmt.Errorf("template does not parse: %w", err)
		}
	}
	return tmpl, nil
}

// refuseUnbounded returns an error for the first {{range}}, {{template}} or
// {{block}} in the tree under n.
func refuseUnbounded(t *template.Template, n parse.Node) error {
	var what string
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := refuseUnbounded(t, c); err != nil {
				return err
			}
		}
		return nil
	case *parse.IfNode:
		return refuseBranches(t, &n.BranchNode)
	case *parse.WithNode:
		return refuseBranches(t, &n.BranchNode)
	case *parse.RangeNode:
		what = "{{range}} is"
	case *parse.TemplateNode:
		what = "{{template}} and {{block}} are"
	default:
		return nil
	}
	loc, _ := t.ErrorContext(n)
	return fmt.Errorf("template: %s: %s not supported in a target template", loc, what)
}

func refuseBranches(t *template.Template, b *parse.BranchNode) error {
	if err := refuseUnbounded(t, b.List); err != nil {
		return err
	}
	return refuseUnbounded(t, b.ElseList)
}

// boundedFuncs replaces text/template's functions that build strings with
// ones that give the same results but refuse, before building it, a result
// over MaxTemplateValueBytes. Every value a template computes then stays
// within that size: a literal is part of the template, a TemplateData field
// is short, and the other functions return one of their arguments, a part of
// one, or a number or a boolean.
var boundedFuncs = template.FuncMap{
	"print": func(args ...any) (string, error) {
		return boundedSprint("print", false, args)
	},
	"println": func(args ...any) (string, error) {
		return boundedSprint("println", true, args)
	},
	"printf": boundedSprintf,
	"html": func(args ...any) (string, error) {
		return boundedEscape("html", args, template.HTMLEscapeString)
	},
	"js": func(args ...any) (string, error) {
		return boundedEscape("js", args, template.JSEscapeString)
	},
	"urlquery": func(args ...any) (string, error) {
		return boundedEscape("urlquery", args, url.QueryEscape)
	},
}

func errValueTooLarge(fn string) error {
	return fmt.Errorf("%s: result over %d bytes", fn, MaxTemplateValueBytes)
}

// boundedSprint is fmt.Sprint (fmt.Sprintln with ln), one operand at a
// time, refusing a result over MaxTemplateValueBytes.
func boundedSprint(fn string, ln bool, args []any) (string, error) {
	var b strings.Builder
	prevString := false
	for i, a := range args {
		isString := a != nil && reflect.TypeOf(a).Kind() == reflect.String
		if i > 0 && (ln || !isString && !prevString) {
			b.WriteByte(' ')
		}
		prevString = isString
		s := fmt.Sprint(a)
		if b.Len()+len(s) > MaxTemplateValueBytes {
			return "", errValueTooLarge(fn)
		}
		b.WriteString(s)
	}
	if ln {
		b.WriteByte('\n')
	}
	if b.Len() > MaxTemplateValueBytes {
		return "", errValueTooLarge(fn)
	}
	return b.String(), nil
}

// boundedEscape is html, js or urlquery: the arguments as text/template
// joins them, escaped by escape, which makes a string at most 6 times longer.
func boundedEscape(fn string, args []any, escape func(string) string) (string, error) {
	var s string
	ok := false
	if len(args) == 1 {
		s, ok = args[0].(string)
	}
	if !ok {
		var err error
		if s, err = boundedSprint(fn, false, args); err != nil {
			return "", err
		}
	}
	if len(s) > MaxTemplateValueBytes {
		return "", errValueTooLarge(fn)
	}
	out := escape(s)
	if len(out) > MaxTemplateValueBytes {
		return "", errValueTooLarge(fn)
	}
	return out, nil
}

// boundedSprintf is fmt.Sprintf, refused when it could write more than
// 16 × MaxTemplateValueBytes (an upper bound found from the format and the
// arguments, before formatting) or when it did write more than
// MaxTemplateValueBytes. fmt caps a width or a precision at 1e6, but a
// format can hold many.
func boundedSprintf(format string, args ...any) (string, error) {
	const (
		perByte  = 6    // the most a verb writes per byte of its operand (% #x)
		perValue = 1024 // beyond that, for a number's own digits and fmt's error texts
	)
	var argMax, argSum, intMax int64
	for _, a := range args {
		n := int64(perValue)
		if s, ok := a.(string); ok {
			n += perByte * int64(len(s))
		} else {
			n += perByte * int64(len(fmt.Sprint(a)))
			if v := reflect.ValueOf(a); v.CanInt() {
				w := v.Int()
				if w < -1e6 || w > 1e6 {
					w = 1e6
				}
				intMax = max(intMax, w, -w)
			} else if v.CanUint() {
				intMax = max(intMax, int64(min(v.Uint(), 1e6)))
			}
		}
		argMax = max(argMax, n)
		argSum += n
	}
	// The widest width or precision: the largest number in the format
	// (over 1e6 fmt refuses it), or an argument's, for *.
	var widest, verbs int64
	for i := 0; i < len(format); i++ {
		switch c := format[i]; {
		case c == '%':
			verbs++
		case c == '*':
			widest = max(widest, intMax)
		case c >= '0' && c <= '9':
			j := i
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				j++
			}
			n, err := strconv.ParseInt(format[i:j], 10, 64)
			if err != nil || n > 1e6 {
				n = 1e6
			}
			widest = max(widest, n)
			i = j - 1
		}
	}
	if bound := int64(len(format)) + verbs*(widest+max(argMax, perValue)) + argSum; bound > 16*MaxTemplateValueBytes {
		return "", errValueTooLarge("printf")
	}
	out := fmt.Sprintf(format, args...)
	if len(out) > MaxTemplateValueBytes {
		return "", errValueTooLarge("printf")
	}
	return out, nil
}
