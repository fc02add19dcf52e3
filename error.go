package apicron

import (
	"errors"
	"fmt"
)

// Error codes. The API maps each to one HTTP status in one place.
const (
	ECONFLICT     = "conflict"     // 409: the request conflicts with the current state
	EINTERNAL     = "internal"     // 500: a fault of apicron or its database
	EINVALID      = "invalid"      // 422: the input breaks a rule
	ENOTFOUND     = "not_found"    // 404: no such resource
	EUNAVAILABLE  = "unavailable"  // 503: a dependency (the database) does not answer
	EUNAUTHORIZED = "unauthorized" // 401: no valid credentials
	ETOOLARGE     = "too_large"    // 413: the request body is over the limit
)

// ErrLeaseLost is what a claim on a database shared by several nodes
// returns when this node no longer holds the dispatcher lease: another node
// took it over (this one was paused or cut off past its LEASE_TTL), or it
// changed hands since this node last renewed it. Nothing was claimed; the
// node stops leading.
var ErrLeaseLost = &Error{Code: ECONFLICT, Message: "the dispatcher lease is no longer this node's: another node took it over"}

// Error is an application error with a code, a message fit for a client and,
// for validation errors, the field it concerns.
type Error struct {
	Code    string
	Field   string // dotted JSON path of the offending field, if any
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("apicron error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("apicron error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of an
// *Error, or a generic text for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field of an *Error in err's chain, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
