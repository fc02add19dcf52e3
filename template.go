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

// Sample values validation renders templates with.
const (
	templateSampleRunID   = 1
	templateSampleSchedID = 1
)

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

// RenderTemplate parses text with ParseTemplate and executes it with data
// by ExecuteTemplate. Text without actions is returned as it is.
func RenderTemplate(name, text string, data TemplateData) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	tmpl, err := ParseTemplate(name, text)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := ExecuteTemplate(&buf, tmpl, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// ExecuteTemplate executes tmpl, made by ParseTemplate, with data (a
// TemplateData) into buf, which it refuses to grow past MaxRenderedBytes:
// a template that validation let through (its sample run rendered little)
// may render more on a later run, behind a condition on the run's data.
// What buf already holds counts towards the cap, so pass it empty. Callers
// that render several templates with the same data may box it in an any
// once.
func ExecuteTemplate(buf *bytes.Buffer, tmpl *template.Template, data any) error {
	if err := tmpl.Execute((*cappedBuffer)(buf), data); err != nil {
		return fmt.Errorf("template does not execute: %w", err)
	}
	return nil
}

// errRenderedTooLarge is what a template that renders more than
// MaxRenderedBytes fails with.
var errRenderedTooLarge = fmt.Errorf("renders more than %d bytes", MaxRenderedBytes)

// cappedBuffer is a bytes.Buffer that refuses to grow past
// MaxRenderedBytes. It is a pointer, so making an io.Writer of it does not
// allocate.
type cappedBuffer bytes.Buffer

func (b *cappedBuffer) Write(p []byte) (int, error) {
	buf := (*bytes.Buffer)(b)
	if buf.Len()+len(p) > MaxRenderedBytes {
		return 0, errRenderedTooLarge
	}
	return buf.Write(p)
}

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
