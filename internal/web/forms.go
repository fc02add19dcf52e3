package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// maxFormBytes bounds a form's body: a target's headers, body template and
// assertions fit well within it.
const maxFormBytes = 256 << 10

// fieldError is why a form was not saved: the apicron.Error's field (the
// API's dotted path, e.g. "url", "headers.X-Key", "auth.password") and
// message. The form shows the message beside the field it names, and at
// its top. The zero value is no error.
type fieldError struct {
	Field, Message string
}

// newFieldError returns err's field and message; ok is false for an error
// that is not the client's (the caller answers it with failErr).
func newFieldError(err error) (fieldError, bool) {
	if apicron.ErrorCode(err) != apicron.EINVALID {
		return fieldError{}, false
	}
	return fieldError{Field: apicron.ErrorField(err), Message: apicron.ErrorMessage(err)}, true
}

// For returns the message when the error is about field name or one of
// its parts (headers.X-Key is about headers); "" otherwise.
func (e fieldError) For(name string) string {
	if e.Message == "" {
		return ""
	}
	f := e.Field
	if f == name || strings.HasPrefix(f, name+".") || strings.HasPrefix(f, name+"[") {
		return e.Message
	}
	return ""
}

// Summary is the message at the top of the form.
func (e fieldError) Summary() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// parseForm reads a posted form, bounded; false when it could not be read
// (answered).
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// formInt reads an optional whole number: nil for "", an EINVALID error on
// field for anything else that is not one.
func formInt(field, s string) (*int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return nil, apicron.Invalid(field, "must be a whole number, got %q", s)
	}
	return &v, nil
}

// formFloat reads an optional number, as formInt.
func formFloat(field, s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, apicron.Invalid(field, "must be a number, got %q", s)
	}
	return &v, nil
}

// itoa shows an optional number in a field; "" for none.
func itoa(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// ftoa shows an optional number in a field; "" for none.
func ftoa(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// isHTMX reports whether htmx sent r (it then wants a fragment).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") != "" }

// confirmData is the confirmation page of a deletion.
type confirmData struct {
	Question string
	Action   string // where the confirmed post goes
	Back     string
}

// see sends the browser to path after a change.
func see(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// writable answers 403 to a read-only session and returns false: the pages
// that are only forms (a new target, a new schedule) are not for it.
func (h *Handler) writable(w http.ResponseWriter, r *http.Request) bool {
	if sessionOf(r.Context()).ReadOnly() {
		h.fail(w, r, http.StatusForbidden, "This session is read-only: log in with a token of API_TOKEN to change anything.")
		return false
	}
	return true
}

// localLayout is how a datetime-local field sends a time.
const localLayout = "2006-01-02T15:04"

// formTime reads an optional datetime-local value on the wall clock of loc
// (a schedule's zone), or an RFC 3339 instant; nil for "".
func formTime(field, s string, loc *time.Location) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{localLayout, localLayout + ":05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if t.Format(layout) != s {
				// Go moved it: the time lies in a gap of the clock, the hour a
				// spring change to daylight saving skips.
				return nil, apicron.Invalid(field, "%s does not exist in %s: the clock skips it (daylight saving begins)", s, loc)
			}
			t = t.UTC()
			return &t, nil
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, apicron.Invalid(field, "must be a date and time, got %q", s)
	}
	t = t.UTC()
	return &t, nil
}

// localValue shows t on the wall clock of zone for a datetime-local field.
func localValue(t *time.Time, zone string) string {
	if t == nil {
		return ""
	}
	loc, err := apicron.LoadZone("timezone", zone)
	if err != nil {
		loc = time.UTC
	}
	l := t.In(loc)
	if l.Second() != 0 {
		return l.Format(localLayout + ":05")
	}
	return l.Format(localLayout)
}
