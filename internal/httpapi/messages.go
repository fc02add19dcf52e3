package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// Huma's validation and parameter messages speak of its implementation:
// Go's date layout for a time, a limit as 3.1536e+07, "invalid integer".
// humanize says instead what was expected and what was given, in words a
// client understands. Huma's messages are matched through its own message
// variables (huma/v2/validation), so a reworded one in a new version is
// left as it is rather than misread; TestErrors_NoGoIsms catches that.

// rfc3339 describes the format of every instant the API takes.
const rfc3339 = "an RFC 3339 date-time such as 2026-01-02T15:04:05Z"

// maxEchoedString is the longest string a message repeats back.
const maxEchoedString = 40

// humanMessages rewrite Huma's messages that take one argument (arg is the
// text Huma put in place of the verb); v is the offending value.
var humanMessages = []struct {
	format  string
	rewrite func(arg string, v any) string
}{
	{validation.MsgExpectedMinimumNumber, func(arg string, v any) string { return "must be at least " + number(arg) + given(v) }},
	{validation.MsgExpectedExclusiveMinimumNumber, func(arg string, v any) string { return "must be greater than " + number(arg) + given(v) }},
	{validation.MsgExpectedMaximumNumber, func(arg string, v any) string { return "must be at most " + number(arg) + given(v) }},
	{validation.MsgExpectedExclusiveMaximumNumber, func(arg string, v any) string { return "must be less than " + number(arg) + given(v) }},
	{validation.MsgExpectedMinLength, func(arg string, v any) string {
		if arg == "1" {
			return "must not be empty"
		}
		return "must be at least " + arg + " characters long" + givenLength(v)
	}},
	{validation.MsgExpectedMaxLength, func(arg string, v any) string { return "must be at most " + arg + " characters long" + givenLength(v) }},
	{validation.MsgExpectedMinItems, func(arg string, v any) string { return "must have at least " + arg + " items" + givenLength(v) }},
	{validation.MsgExpectedMaxItems, func(arg string, v any) string { return "must have at most " + arg + " items" + givenLength(v) }},
	{validation.MsgExpectedMinProperties, func(arg string, v any) string { return "must have at least " + arg + " entries" + givenLength(v) }},
	{validation.MsgExpectedMaxProperties, func(arg string, v any) string { return "must have at most " + arg + " entries" + givenLength(v) }},
	{validation.MsgExpectedOneOf, func(arg string, v any) string { return "must be one of " + anyCase(arg) + given(v) }},
	{validation.MsgExpectedRequiredProperty, func(string, any) string { return "is required" }},
}

// humanTypes rewrite Huma's messages about a value of the wrong type, in
// a body (the validator's) or a parameter (its parser's).
var humanTypes = map[string]string{
	validation.MsgExpectedString:          "expected a string",
	validation.MsgExpectedInteger:         "expected an integer",
	validation.MsgExpectedNumber:          "expected a number",
	validation.MsgExpectedBoolean:         "expected true or false",
	validation.MsgExpectedObject:          "expected an object",
	validation.MsgExpectedArray:           "expected an array",
	validation.MsgExpectedRFC3339DateTime: "expected " + rfc3339,
	"invalid integer":                     "expected an integer",
	"invalid float":                       "expected a number",
	"invalid floating value":              "expected a number",
	"invalid boolean":                     "expected true or false",
}

// msgInvalidDateTime starts Huma's message about a time parameter it
// cannot parse, followed by the Go layout it tried.
const msgInvalidDateTime = "invalid date/time for format "

// humanize returns d's message in a client's words; body returns the Go
// type of the operation's request body, or nil.
func humanize(d *huma.ErrorDetail, body func() reflect.Type) string {
	msg, v := d.Message, d.Value
	if _, ok := v.(string); ok && d.Location == "body" {
		v = opaque{} // a whole body is not repeated back: it may hold secrets
	}
	if human, ok := humanTypes[msg]; ok {
		if msg == "invalid integer" && isDigits(d.Value) { // too long for an int64
			if strings.HasPrefix(d.Value.(string), "-") {
				return "must be at least " + strconv.FormatInt(math.MinInt64, 10)
			}
			return "must be at most " + strconv.FormatInt(math.MaxInt64, 10)
		}
		return human + given(v)
	}
	if strings.HasPrefix(msg, msgInvalidDateTime) {
		return "expected " + rfc3339 + given(v)
	}
	if ct, ok := strings.CutPrefix(msg, huma.ErrUnknownContentType.Error()+": "); ok {
		return "the body must be JSON, sent with Content-Type: application/json, not " + ct
	}
	if msg == validation.MsgUnexpectedProperty {
		return unexpectedField(d.Location, body)
	}
	for _, h := range humanMessages {
		if arg, ok := cutFormat(msg, h.format); ok {
			return h.rewrite(arg, v)
		}
	}
	return msg
}

// anyCase shortens a list of values followed by the same in lower case
// (the methods a target takes) to the first half.
func anyCase(list string) string {
	vs := strings.Split(list, ", ")
	n := len(vs) / 2
	if len(vs)%2 != 0 || n == 0 || strings.ToLower(strings.Join(vs[:n], ", ")) != strings.Join(vs[n:], ", ") {
		return list
	}
	return strings.Join(vs[:n], ", ") + " (or in lower case)"
}

// cutFormat matches msg against a format with one verb and returns the
// text in the verb's place.
func cutFormat(msg, format string) (string, bool) {
	i := strings.IndexByte(format, '%')
	if i < 0 || i+2 > len(format) {
		return "", false
	}
	prefix, suffix := format[:i], format[i+2:]
	if len(msg) < len(prefix)+len(suffix) || !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) {
		return "", false
	}
	return msg[len(prefix) : len(msg)-len(suffix)], true
}

// unexpectedField names the fields a body takes, for a field it does not.
func unexpectedField(loc string, body func() reflect.Type) string {
	const msg = "is not a field of this body"
	parent, _, ok := cutLast(loc, ".")
	if !ok || parent != "body" || body == nil {
		return msg
	}
	t := body()
	if t == nil || t.Kind() != reflect.Struct {
		return msg
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return msg + "; the fields are " + strings.Join(names, ", ")
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// number writes a number Huma formatted with %v (3.1536e+07) in full (31536000).
func number(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return formatNumber(f)
}

// formatNumber writes f without an exponent unless it is very large or very small.
func formatNumber(f float64) string {
	if a := math.Abs(f); a != 0 && (a >= 1e21 || a < 1e-6) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// opaque stands for a string value that is not repeated back.
type opaque struct{}

// given says what value was sent, when that is short to say.
func given(v any) string {
	switch x := v.(type) {
	case opaque:
		return ", got a string"
	case nil:
		return ", got null"
	case string:
		if utf8.RuneCountInString(x) > maxEchoedString {
			return ", got a string"
		}
		q, _ := json.Marshal(x)
		return ", got " + string(q)
	case bool:
		return ", got " + strconv.FormatBool(x)
	case float64:
		return ", got " + formatNumber(x)
	case int64:
		return ", got " + strconv.FormatInt(x, 10)
	case int:
		return ", got " + strconv.Itoa(x)
	case map[string]any:
		return ", got an object"
	case []any:
		return ", got an array"
	}
	return ""
}

// givenLength says how long the value sent is.
func givenLength(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf(", got %d", utf8.RuneCountInString(x))
	case []any:
		return fmt.Sprintf(", got %d", len(x))
	case map[string]any:
		return fmt.Sprintf(", got %d", len(x))
	}
	return ""
}

// isDigits reports whether v is a string of decimal digits, maybe signed.
func isDigits(v any) bool {
	s, ok := v.(string)
	s = strings.TrimPrefix(s, "-")
	if !ok || s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
