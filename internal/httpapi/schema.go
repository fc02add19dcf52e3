package httpapi

import (
	"strings"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

// The DTOs' schemas take the rules that the root package owns (the HTTP
// methods, the limits) from it, in TransformSchema methods rather than in
// struct tags, so a rule has one source. Huma validates requests against
// the same schema it documents.

// requestMethods are the methods a target may be given: apicron.Methods,
// and the same in lower case, which Target.Normalize accepts too.
func requestMethods() []any {
	var out []any
	for _, m := range apicron.Methods {
		out = append(out, m)
	}
	for _, m := range apicron.Methods {
		out = append(out, strings.ToLower(m))
	}
	return out
}

// TransformSchema lists the methods a target uses.
func (Target) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	for _, m := range apicron.Methods {
		s.Properties["method"].Enum = append(s.Properties["method"].Enum, m)
	}
	return s
}

// TransformSchema lists the methods a target may be given.
func (TargetCreate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Properties["method"].Enum = requestMethods()
	return s
}

// TransformSchema lists the methods a target may be given.
func (TargetUpdate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Properties["method"].Enum = requestMethods()
	return s
}
