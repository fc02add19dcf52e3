package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

type idPath struct {
	ID int64 `path:"id" doc:"Resource id"`
}

type createTargetInput struct {
	RawBody []byte
	Body    TargetCreate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *createTargetInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type updateTargetInput struct {
	ID      int64 `path:"id" doc:"Resource id"`
	RawBody []byte
	Body    TargetUpdate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *updateTargetInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type targetOutput struct {
	Body Target
}

type listTargetsInput struct {
	Paging
}

type listTargetsOutput struct {
	TotalCount int      `header:"X-Total-Count" doc:"Number of targets in all pages"`
	Body       []Target `nullable:"false"`
}

func (s *Server) createTarget(ctx context.Context, in *createTargetInput) (*targetOutput, error) {
	b := in.Body
	t := &apicron.Target{
		Name:           b.Name,
		URL:            b.URL,
		Headers:        b.Headers,
		TimeoutSeconds: b.TimeoutSeconds,
		MaxRetries:     b.MaxRetries,
		SecretHeaders:  b.SecretHeaders,

		AllowInsecureRedirects: b.AllowInsecureRedirects,
		RetryBackoffMs:         b.RetryBackoffMs,
		RetryMaxBackoffMs:      b.RetryMaxBackoffMs,
		RateLimit:              b.RateLimit.rateLimit(),
	}
	if b.RetryOn != nil {
		t.RetryOn = append([]string{}, *b.RetryOn...)
	}
	if b.Method != nil {
		t.Method = *b.Method
	}
	if b.BodyTemplate != nil {
		t.BodyTemplate = *b.BodyTemplate
	}
	var err error
	if t.Assertions, err = s.checkAssertions("assertions", b.Assertions); err != nil {
		return nil, s.apiError(ctx, "create target", err)
	}
	var generated string
	if t.SigningSecrets, generated, err = apicron.ExpandSigningSecrets(b.SigningSecrets); err != nil {
		return nil, s.apiError(ctx, "create target", err)
	}
	if b.Auth != nil {
		a, err := checkAuth(b.Auth, t.Headers)
		if err == nil && (a.Password == apicron.MaskedValue || a.Token == apicron.MaskedValue) {
			err = apicron.Invalid("auth", "a new target has no secret to keep: send the password or token")
		}
		if err != nil {
			return nil, s.apiError(ctx, "create target", err)
		}
		apicron.TargetUpdate{Auth: a}.Apply(t)
	}
	if b.ClientCert != nil {
		t.ClientCert = b.ClientCert.domain()
	}
	t.Normalize()
	if err := t.Validate(); err != nil {
		return nil, s.apiError(ctx, "create target", err)
	}
	if err := s.checkURL(t.URL); err != nil {
		return nil, s.apiError(ctx, "create target", err)
	}
	if err := s.store.CreateTarget(ctx, t); err != nil {
		return nil, s.apiError(ctx, "create target", err)
	}
	out := newTarget(t)
	out.GeneratedSigningSecret = nullString(generated)
	return &targetOutput{Body: out}, nil
}

func (s *Server) getTarget(ctx context.Context, in *idPath) (*targetOutput, error) {
	t, err := s.store.FindTargetByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get target", err)
	}
	return &targetOutput{Body: newTarget(t)}, nil
}

func (s *Server) listTargets(ctx context.Context, in *listTargetsInput) (*listTargetsOutput, error) {
	ts, total, err := s.store.FindTargets(ctx, in.Paging.page())
	if err != nil {
		return nil, s.apiError(ctx, "list targets", err)
	}
	out := &listTargetsOutput{TotalCount: total, Body: make([]Target, 0, len(ts))}
	for _, t := range ts {
		out.Body = append(out.Body, newTarget(t))
	}
	return out, nil
}

// updateTarget converts the body; the store applies it in its transaction,
// normalizes and validates the result.
func (s *Server) updateTarget(ctx context.Context, in *updateTargetInput) (*targetOutput, error) {
	upd, err := targetUpdate(in.Body, in.RawBody)
	if err != nil {
		return nil, s.apiError(ctx, "update target", err)
	}
	if upd.URL != nil {
		if err := s.checkURL(*upd.URL); err != nil {
			return nil, s.apiError(ctx, "update target", err)
		}
	}
	if in.Body.Assertions != nil || upd.Assertions != nil {
		var list []apicron.Assertion
		if in.Body.Assertions != nil {
			if list, err = s.checkAssertions("assertions", *in.Body.Assertions); err != nil {
				return nil, s.apiError(ctx, "update target", err)
			}
		}
		upd.Assertions = &list
	}
	if in.Body.Auth != nil {
		var h map[string]string
		if upd.Headers != nil {
			h = *upd.Headers
		}
		a, err := checkAuth(in.Body.Auth, h)
		if err != nil {
			return nil, s.apiError(ctx, "update target", err)
		}
		upd.Auth = a
	}
	if in.Body.ClientCert != nil {
		c := in.Body.ClientCert.domain()
		upd.ClientCert = &c
	}
	var generated string
	if in.Body.SigningSecrets != nil {
		var list []string
		if list, generated, err = apicron.ExpandSigningSecrets(*in.Body.SigningSecrets); err != nil {
			return nil, s.apiError(ctx, "update target", err)
		}
		upd.SigningSecrets = &list
	}
	t, err := s.store.UpdateTarget(ctx, in.ID, upd)
	if err != nil {
		return nil, s.apiError(ctx, "update target", err)
	}
	out := newTarget(t)
	out.GeneratedSigningSecret = nullString(generated)
	return &targetOutput{Body: out}, nil
}

// targetUpdate converts the body of a target update. A null is told from an
// absent field by the raw body: null clears body_template and returns
// timeout_seconds and max_retries to the service defaults; it is refused for
// the fields that cannot be empty.
func targetUpdate(b TargetUpdate, raw []byte) (apicron.TargetUpdate, error) {
	nulls, err := nullFields(raw, "name", "url", "method", "headers", "secret_headers", "allow_insecure_redirects")
	if err != nil {
		return apicron.TargetUpdate{}, err
	}
	upd := apicron.TargetUpdate{
		Name:          b.Name,
		URL:           b.URL,
		Method:        b.Method,
		Headers:       b.Headers,
		SecretHeaders: b.SecretHeaders,

		AllowInsecureRedirects: b.AllowInsecureRedirects,
	}
	if b.BodyTemplate != nil {
		upd.BodyTemplate = b.BodyTemplate
	} else if nulls["body_template"] {
		empty := ""
		upd.BodyTemplate = &empty
	}
	if b.TimeoutSeconds != nil || nulls["timeout_seconds"] {
		upd.TimeoutSeconds = &b.TimeoutSeconds
	}
	if b.MaxRetries != nil || nulls["max_retries"] {
		upd.MaxRetries = &b.MaxRetries
	}
	if nulls["assertions"] {
		upd.Assertions = &[]apicron.Assertion{} // null: none; a list is vetted by the caller
	}
	if nulls["signing_secrets"] {
		upd.SigningSecrets = &[]string{}
	}
	if nulls["client_cert"] {
		var none *apicron.ClientCert
		upd.ClientCert = &none
	}

	if b.RetryOn != nil || nulls["retry_on"] {
		var on *[]string // null: back to the defaults
		if b.RetryOn != nil {
			list := append([]string{}, *b.RetryOn...)
			on = &list
		}
		upd.RetryOn = &on
	}
	if b.RetryBackoffMs != nil || nulls["retry_backoff_ms"] {
		upd.RetryBackoffMs = &b.RetryBackoffMs
	}
	if b.RetryMaxBackoffMs != nil || nulls["retry_max_backoff_ms"] {
		upd.RetryMaxBackoffMs = &b.RetryMaxBackoffMs
	}
	if b.RateLimit != nil || nulls["rate_limit"] {
		r := b.RateLimit.rateLimit() // nil for null: removed
		upd.RateLimit = &r
	}
	return upd, nil
}

// nullFields returns the top-level fields of a JSON object that are null,
// or an EINVALID error for the first of them that is in notNull.
func nullFields(raw []byte, notNull ...string) (map[string]bool, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, apicron.Errorf(apicron.EINVALID, "the body must be a JSON object")
	}
	nulls := map[string]bool{}
	for k, v := range fields {
		if string(v) == "null" {
			nulls[k] = true
		}
	}
	for _, k := range notNull {
		if nulls[k] {
			return nil, apicron.Invalid(k, "must not be null")
		}
	}
	return nulls, nil
}

// checkURL vets a target's URL with Config.URLCheckFunc: an error refuses
// it as invalid, on field url.
func (s *Server) checkURL(raw string) error {
	if s.urlCheck == nil {
		return nil
	}
	err := s.urlCheck(strings.TrimSpace(raw))
	if err == nil {
		return nil
	}
	var e *apicron.Error
	if errors.As(err, &e) && e.Code == apicron.EINVALID && e.Field == "url" {
		return e
	} else if e != nil {
		return apicron.Invalid("url", "%s", e.Message)
	}
	return apicron.Invalid("url", "%s", err.Error())
}

func (s *Server) deleteTarget(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.store.DeleteTarget(ctx, in.ID); err != nil {
		return nil, s.apiError(ctx, "delete target", err)
	}
	return &struct{}{}, nil
}
