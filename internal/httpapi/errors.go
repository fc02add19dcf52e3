package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// maxEchoedValue is the longest string value a validation error echoes back.
const maxEchoedValue = 256

// statusOf is the one mapping from apicron error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case apicron.EINVALID:
		return http.StatusUnprocessableEntity
	case apicron.ENOTFOUND:
		return http.StatusNotFound
	case apicron.ECONFLICT:
		return http.StatusConflict
	case apicron.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case apicron.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case apicron.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// apiError turns an error from the domain or the store into the problem
// Huma writes. An internal error is logged here, once, and the client gets a
// generic message; any other code carries its client-safe message in detail
// and, for a validation error, the field in errors[0].location.
func (s *Server) apiError(ctx context.Context, op string, err error) error {
	code := apicron.ErrorCode(err)
	status := statusOf(code)
	switch status {
	case http.StatusInternalServerError:
		s.logger.ErrorContext(ctx, "internal error", "op", op, "err", err)
		return problem(status, "internal error")
	case http.StatusServiceUnavailable:
		s.logger.WarnContext(ctx, "dependency unavailable", "op", op, "err", err)
	}
	msg := apicron.ErrorMessage(err)
	field := apicron.ErrorField(err)
	if field == "" {
		return problem(status, msg)
	}
	// Domain messages are written to follow the field name: "name must not be empty".
	e := problem(status, field+" "+msg)
	e.Errors = []*huma.ErrorDetail{{Location: "body." + field, Message: msg}}
	return e
}

// problem returns an RFC 9457 problem with Huma's error model.
func problem(status int, detail string) *huma.ErrorModel {
	return &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail}
}

// invalidParam is a 422 about one query or path parameter.
func invalidParam(loc, msg string) *huma.ErrorModel {
	e := problem(http.StatusUnprocessableEntity, loc+": "+msg)
	e.Errors = []*huma.ErrorDetail{{Location: loc, Message: msg}}
	return e
}

// transformError polishes the problems Huma writes by itself (validation,
// body size, malformed JSON) so that detail alone tells a client what is
// wrong, as FastAPI-style clients read only detail.
func (s *Server) transformError(ctx huma.Context, _ string, v any) (any, error) {
	e, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	if e.Status == http.StatusRequestEntityTooLarge && strings.HasPrefix(e.Detail, "request body is too large") {
		// Huma states its limit, which is one byte more than ours (see op).
		e.Detail = fmt.Sprintf("request body must be at most %d bytes", MaxBodyBytes)
	}
	details := e.Errors[:0]
	var parts []string
	for _, d := range e.Errors {
		if d == nil {
			continue
		}
		if d.Message == msgUnknownQueryParameter && ctx != nil {
			d.Message, d.Value = unknownQueryParameter(ctx.Operation()), nil
		}
		// Huma reports a missing property at its parent; name the property itself.
		if name, ok := cutFormat(d.Message, validation.MsgExpectedRequiredProperty); ok && d.Location != "" {
			d.Location += "." + name
		}
		d.Message = humanize(d, func() reflect.Type { return s.bodyType(ctx) })
		// Huma echoes the offending value. Keep it when it is short and
		// scalar; drop the whole body (malformed JSON), objects and long
		// strings: up to a mebibyte of no help, with headers that may be secret.
		switch v := d.Value.(type) {
		case map[string]any, []any:
			d.Value = nil
		case string:
			if len(v) > maxEchoedValue || d.Location == "body" {
				d.Value = nil
			}
		}
		details = append(details, d)
		if d.Location != "" {
			parts = append(parts, d.Location+": "+d.Message)
		} else {
			parts = append(parts, d.Message)
		}
	}
	e.Errors = details
	if len(parts) > 0 && !strings.Contains(e.Detail, parts[0]) && !strings.Contains(e.Detail, details[0].Message) {
		e.Detail += ": " + strings.Join(parts, "; ")
	}
	return e, nil
}

// msgUnknownQueryParameter is Huma's message about a query parameter the
// operation does not declare (Config.RejectUnknownQueryParameters).
const msgUnknownQueryParameter = "unknown query parameter"

// unknownQueryParameter says which query parameters the operation takes.
func unknownQueryParameter(o *huma.Operation) string {
	var names []string
	if o != nil {
		for _, p := range o.Parameters {
			if p.In == "query" {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) == 0 {
		return msgUnknownQueryParameter + ": this operation takes none"
	}
	return msgUnknownQueryParameter + ": this operation takes " + strings.Join(names, ", ")
}

// bodyType returns the Go type of the request body of ctx's operation, or nil.
func (s *Server) bodyType(ctx huma.Context) reflect.Type {
	if ctx == nil || ctx.Operation() == nil || ctx.Operation().RequestBody == nil {
		return nil
	}
	mt := ctx.Operation().RequestBody.Content["application/json"]
	if mt == nil || mt.Schema == nil || mt.Schema.Ref == "" {
		return nil
	}
	return s.api.OpenAPI().Components.Schemas.TypeFromRef(mt.Schema.Ref)
}

// writeProblem writes a problem outside Huma, for requests no operation handles.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem(status, detail))
}
