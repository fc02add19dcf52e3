package apicron

import (
	"bytes"
	"errors"
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

// Limits on what templates compute. MaxRenderedBytes bounds what one
// template (a URL, a header value or the body) renders to, and
// MaxTemplateValueBytes what one function in it (print, printf, println,
// html, js, urlquery) returns: no value a template computes is larger than
// the largest template. One request is bounded as a whole too (see
// RenderBudget): its header names and values together by
// MaxRenderedHeaderBytes, about what HTTP servers accept in a request's
// header section, and its URL, headers and body together by
// MaxRenderedRequestBytes, a body at its cap beside headers at theirs and a
// URL of MaxURLLength. Without the totals, the 50 headers a target may
// have could render 50 times MaxRenderedBytes per request.
const (
	MaxRenderedBytes        = 1 << 20
	MaxRenderedHeaderBytes  = 64 << 10
	MaxRenderedRequestBytes = MaxRenderedBytes + MaxRenderedHeaderBytes + MaxURLLength
	MaxTemplateValueBytes   = MaxBodyTemplateBytes
)

// Errors of what renders past a cap. Their text names the cap and nothing
// of the template, so they can be shown whatever a template holds.
var (
	// ErrRenderedTooLarge is one template rendering more than MaxRenderedBytes.
	ErrRenderedTooLarge = fmt.Errorf("renders more than %d bytes", MaxRenderedBytes)
	// ErrHeadersTooLarge is a request whose header names and values come
	// to more than MaxRenderedHeaderBytes.
	ErrHeadersTooLarge = fmt.Errorf("the request's header names and values, rendered, come to more than %d bytes", MaxRenderedHeaderBytes)
	// ErrRequestTooLarge is a request whose URL, headers and body come to
	// more than MaxRenderedRequestBytes.
	ErrRequestTooLarge = fmt.Errorf("the request's URL, headers and body, rendered, come to more than %d bytes", MaxRenderedRequestBytes)
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

// checkTemplate renders text (the value of field) with sample data within
// budget, so that a reference to an unknown field, or a target whose
// request renders past a cap, is refused when it is saved rather than
// failing every run. It returns what text rendered to. Past the headers'
// cap the field at fault is headers, since no one header is.
func checkTemplate(field, text string, budget *RenderBudget) (string, error) {
	out, err := renderTemplate(field, text, sampleTemplateData(), budget)
	if err != nil {
		if errors.Is(err, ErrHeadersTooLarge) {
			field = "headers"
		}
		return "", Invalid(field, "%v", err)
	}
	return out, nil
}

// RenderTemplate parses text with ParseTemplate and executes it with data
// by ExecuteTemplate, bounded by MaxRenderedBytes alone. Text without
// actions is returned as it is.
func RenderTemplate(name, text string, data TemplateData) (string, error) {
	return renderTemplate(name, text, data, nil)
}

// renderTemplate is RenderTemplate within budget; text without actions is
// spent from it as it is.
func renderTemplate(name, text string, data TemplateData, budget *RenderBudget) (string, error) {
	if !strings.Contains(text, "{{") {
		if err := budget.Spend(name, len(text)); err != nil {
			return "", err
		}
		return text, nil
	}
	tmpl, err := ParseTemplate(name, text)
	if err != nil {
		return "", err
	}
	var buf TemplateBuffer
	if err := ExecuteTemplate(&buf, tmpl, data, budget); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// RenderBudget is what the templates of one request may still render:
// MaxRenderedRequestBytes in all, of which MaxRenderedHeaderBytes for
// header names and values. Validation and the executor spend one budget per
// request on its URL, each header's name and value and its body, templates
// or not, and ExecuteTemplate stops a template as soon as it would overspend.
// Start from NewRenderBudget; a nil *RenderBudget bounds nothing but each
// template's MaxRenderedBytes.
//
// Fields are named as validation names them: "url", "body_template", and
// "headers" or "headers.<Name>" for what counts towards the headers' cap.
type RenderBudget struct {
	request int // bytes left for the whole request
	headers int // bytes left for header names and values
}

// NewRenderBudget returns the budget of one request.
func NewRenderBudget() RenderBudget {
	return RenderBudget{request: MaxRenderedRequestBytes, headers: MaxRenderedHeaderBytes}
}

// Spend counts n bytes of field sent as they are (a text without actions,
// a header's name). It returns ErrHeadersTooLarge or ErrRequestTooLarge,
// and spends nothing, when they do not fit.
func (b *RenderBudget) Spend(field string, n int) error {
	if b == nil {
		return nil
	}
	header := isHeaderField(field)
	if header && n > b.headers {
		return ErrHeadersTooLarge
	}
	if n > b.request {
		return ErrRequestTooLarge
	}
	b.request -= n
	if header {
		b.headers -= n
	}
	return nil
}

// limit is the most field may render now, and the error of going past it.
func (b *RenderBudget) limit(field string) (int, error) {
	limit, over := MaxRenderedBytes, ErrRenderedTooLarge
	if b == nil {
		return limit, over
	}
	if b.request < limit {
		limit, over = b.request, ErrRequestTooLarge
	}
	if isHeaderField(field) && b.headers < limit {
		limit, over = b.headers, ErrHeadersTooLarge
	}
	return limit, over
}

func isHeaderField(field string) bool {
	return field == "headers" || strings.HasPrefix(field, "headers.")
}

// TemplateBuffer is what ExecuteTemplate renders into: a buffer that
// refuses to grow past the limit of the execution in progress, so that a
// template stops as soon as it renders too much rather than being measured
// once it has. The zero value is ready to use; reuse one (a sync.Pool) to
// keep its memory.
type TemplateBuffer struct {
	buf   bytes.Buffer
	limit int
	over  error
}

// String returns what the last execution rendered.
func (b *TemplateBuffer) String() string { return b.buf.String() }

// Len is how many bytes the last execution rendered.
func (b *TemplateBuffer) Len() int { return b.buf.Len() }

// Cap is the capacity of the buffer's memory, for a pool to decide whether
// to keep it.
func (b *TemplateBuffer) Cap() int { return b.buf.Cap() }

// Reset empties the buffer, keeping its memory.
func (b *TemplateBuffer) Reset() { b.buf.Reset() }

// cappedWriter is a TemplateBuffer as the io.Writer a template executes
// into: converting a pointer makes it without allocating, and only
// ExecuteTemplate writes.
type cappedWriter TemplateBuffer

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.limit {
		return 0, w.over
	}
	return w.buf.Write(p)
}

// ExecuteTemplate executes tmpl, made by ParseTemplate, with data (a
// TemplateData) into buf, which it empties first, and spends what it
// rendered from budget. It stops as soon as the output would pass
// MaxRenderedBytes or what budget has left for tmpl's field (its name, as
// ParseTemplate was given it), with an error wrapping ErrRenderedTooLarge,
// ErrHeadersTooLarge or ErrRequestTooLarge: a template that validation let
// through (its sample run rendered little) may render more on a later run,
// behind a condition on the run's data. Callers that render several
// templates with the same data may box it in an any once.
func ExecuteTemplate(buf *TemplateBuffer, tmpl *template.Template, data any, budget *RenderBudget) error {
	buf.Reset()
	buf.limit, buf.over = budget.limit(tmpl.Name())
	if err := tmpl.Execute((*cappedWriter)(buf), data); err != nil {
		if errors.Is(err, ErrRenderedTooLarge) {
			return fmt.Errorf("template does not execute: %s %w", tmpl.Name(), err)
		}
		return fmt.Errorf("template does not execute: %w", err)
	}
	// Within the limit, so within the budget.
	_ = budget.Spend(tmpl.Name(), buf.Len())
	return nil
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
