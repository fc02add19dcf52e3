package executor

import (
	"errors"
	"strings"
	"sync"
	"text/template"

	"github.com/apicron/apicron"
)

// Bounds of the parsed-template cache, per generation (two are kept).
const (
	templateCacheEntries = 4096
	templateCacheBytes   = 8 << 20
)

// templateError is a URL, header or body template that does not parse or
// execute. Classify makes it FAILED template; no request is sent.
type templateError struct {
	err error
}

func (e *templateError) Error() string { return e.err.Error() }
func (e *templateError) Unwrap() error { return e.err }

// secretHeaderError stands for the error of a secret header's template,
// whose text may quote the template (text/template quotes the action at
// fault, a parse error the token): it names the header and, for a render
// cap, the cap, whose text quotes nothing.
func secretHeaderError(name string, err error) error {
	msg := "template of secret header " + name + " failed"
	for _, limit := range [...]error{apicron.ErrHeadersTooLarge, apicron.ErrRequestTooLarge, apicron.ErrRenderedTooLarge} {
		if errors.Is(err, limit) {
			msg += ": " + limit.Error()
			break
		}
	}
	return &templateError{errors.New(msg)}
}

// templateKey names a template by where it is used and its text. The field
// and header name only matter for error messages, which quote them.
type templateKey struct {
	field  string // "url", "headers" or "body_template", as in validation
	header string // the header name, for field "headers"
	text   string
}

func (k templateKey) name() string {
	if k.field == "headers" {
		return "headers." + k.header
	}
	return k.field
}

// templateEntry is a parsed template, or why it does not parse.
type templateEntry struct {
	tmpl *template.Template
	err  error
}

// templateCache keeps parsed templates, since parsing costs far more than
// executing and the same few texts run again and again. It is bounded by
// entries and text bytes with two generations: when the current one fills
// it becomes the old one and the previous old one is dropped; a hit in the
// old generation moves forward. That is an LRU's behaviour for a hot set,
// without a list to update on every hit.
type templateCache struct {
	mu         sync.RWMutex
	cur, old   map[templateKey]*templateEntry
	curBytes   int
	maxEntries int
	maxBytes   int
}

func newTemplateCache(maxEntries, maxBytes int) *templateCache {
	return &templateCache{
		cur:        make(map[templateKey]*templateEntry),
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
	}
}

// renderBufPool holds the buffers templates are executed into.
var renderBufPool = sync.Pool{New: func() any { return new(apicron.TemplateBuffer) }}

// render executes text with data (an apicron.TemplateData) within budget as
// apicron.RenderTemplate does, through the same apicron.ParseTemplate and
// apicron.ExecuteTemplate, but parses each distinct text once. Text without
// actions is returned as it is; it and a header's name are spent from the
// budget all the same.
func (c *templateCache) render(field, header, text string, data any, budget *apicron.RenderBudget) (string, error) {
	if !strings.Contains(text, "{{") {
		if err := budget.Spend(field, len(header)+len(text)); err != nil {
			return "", &templateError{err}
		}
		return text, nil
	}
	if err := budget.Spend(field, len(header)); err != nil {
		return "", &templateError{err}
	}
	e := c.get(templateKey{field: field, header: header, text: text})
	if e.err != nil {
		return "", e.err
	}
	buf := renderBufPool.Get().(*apicron.TemplateBuffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			renderBufPool.Put(buf)
		}
	}()
	if err := apicron.ExecuteTemplate(buf, e.tmpl, data, budget); err != nil {
		return "", &templateError{err}
	}
	return buf.String(), nil
}

func (c *templateCache) get(k templateKey) *templateEntry {
	c.mu.RLock()
	e, inCur := c.cur[k]
	if !inCur {
		e = c.old[k]
	}
	c.mu.RUnlock()
	if inCur {
		return e
	}
	if e == nil {
		// Parsed outside the lock; two goroutines may both parse a new text, harmlessly.
		e = parseTemplate(k)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.cur[k]; ok {
		return cur
	}
	if len(c.cur) >= c.maxEntries || c.curBytes+len(k.text) > c.maxBytes {
		c.old, c.cur, c.curBytes = c.cur, make(map[templateKey]*templateEntry, len(c.cur)), 0
	}
	c.cur[k] = e
	c.curBytes += len(k.text)
	return e
}

// parseTemplate parses as apicron.RenderTemplate does, through the same
// apicron.ParseTemplate.
func parseTemplate(k templateKey) *templateEntry {
	t, err := apicron.ParseTemplate(k.name(), k.text)
	if err != nil {
		return &templateEntry{err: &templateError{err}}
	}
	return &templateEntry{tmpl: t}
}
