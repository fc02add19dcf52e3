package httpapi

import (
	"fmt"
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

// TransformSchema sets the target's limits and methods.
func (TargetCreate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	targetRules(s)
	return s
}

// TransformSchema sets the target's limits and methods.
func (TargetUpdate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	targetRules(s)
	return s
}

// TransformSchema sets the schedule's limits.
func (ScheduleCreate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	scheduleRules(s)
	return s
}

// TransformSchema sets the schedule's limits.
func (ScheduleUpdate) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	scheduleRules(s)
	return s
}

// maxID bounds the ids a body names: the largest integer every JSON
// client holds exactly (2^53 - 1), well within an int64. A larger number
// is refused by the schema, with the field named, rather than by the
// decoder.
const maxID = 1<<53 - 1

func targetRules(s *huma.Schema) {
	p := s.Properties
	p["name"].MaxLength = ptr(apicron.MaxNameLength)
	p["url"].MaxLength = ptr(apicron.MaxURLLength)
	p["method"].Enum = requestMethods()
	p["headers"].MaxProperties = ptr(apicron.MaxHeaders)
	p["secret_headers"].MaxItems = ptr(apicron.MaxSecretHeaders)
	p["body_template"].MaxLength = ptr(apicron.MaxBodyTemplateBytes)
	p["body_template"].Description = fmt.Sprintf("Body sent with each request, at most %d bytes; "+
		"Go text/template actions such as {{.RunID}} are rendered", apicron.MaxBodyTemplateBytes)
	p["timeout_seconds"].Maximum = ptr[float64](apicron.MaxTimeoutSeconds)
	p["max_retries"].Maximum = ptr[float64](apicron.MaxRetriesLimit)
}

// TransformSchema sets the rate limit's bounds.
func (RateLimit) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	p := s.Properties
	p["per_second"].Minimum = ptr[float64](apicron.MinRatePerSecond)
	p["per_second"].Maximum = ptr[float64](apicron.MaxRatePerSecond)
	p["burst"].Minimum = ptr[float64](1)
	p["burst"].Maximum = ptr[float64](apicron.MaxRateBurst)
	return s
}

func scheduleRules(s *huma.Schema) {
	p := s.Properties
	p["name"].MaxLength = ptr(apicron.MaxNameLength)
	p["target_id"].Maximum = ptr[float64](maxID)
	p["interval_seconds"].Maximum = ptr[float64](apicron.MaxIntervalSeconds)
	p["duration_seconds"].Maximum = ptr[float64](apicron.MaxDurationSeconds)
	p["keep_runs"].Maximum = ptr[float64](apicron.MaxKeepRuns)
	if c := p["cron_expression"]; c != nil {
		c.MaxLength = ptr(apicron.MaxCronExpressionLength)
	}
	if z := p["timezone"]; z != nil {
		z.MaxLength = ptr(64)
	}
}

func ptr[T any](v T) *T { return &v }
