package config

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

// The samplers OTEL_TRACES_SAMPLER names, as OpenTelemetry defines them.
// A run's trace is a root (apicron continues no caller's trace), so each
// parentbased_ sampler decides as the sampler it names.
const (
	SamplerAlwaysOn                = "always_on"
	SamplerAlwaysOff               = "always_off"
	SamplerTraceIDRatio            = "traceidratio"
	SamplerParentBasedAlwaysOn     = "parentbased_always_on"
	SamplerParentBasedAlwaysOff    = "parentbased_always_off"
	SamplerParentBasedTraceIDRatio = "parentbased_traceidratio"
)

// Samplers lists the values OTEL_TRACES_SAMPLER accepts.
var Samplers = []string{SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio,
	SamplerParentBasedAlwaysOn, SamplerParentBasedAlwaysOff, SamplerParentBasedTraceIDRatio}

// TracesPath is the path of the traces signal below OTEL_EXPORTER_OTLP_ENDPOINT.
const TracesPath = "/v1/traces"

// Tracing reports whether spans are exported: an OTLP endpoint is set.
func (c Config) Tracing() bool { return c.TracesURL() != "" }

// TracesURL is the URL spans are exported to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// as it is, else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended to its
// path (the OpenTelemetry rule for a base endpoint); "" when neither is set.
func (c Config) TracesURL() string {
	if c.OTLPTracesEndpoint != "" {
		return c.OTLPTracesEndpoint
	}
	if c.OTLPEndpoint == "" {
		return ""
	}
	u, err := url.Parse(c.OTLPEndpoint)
	if err != nil { // validated when loaded
		return ""
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + TracesPath
	u.RawPath = ""
	return u.String()
}

// otlpURLSetting parses an OTLP endpoint: an http or https URL with a host.
func otlpURLSetting(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			*field(c) = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("must be an http or https URL without a query, such as http://localhost:4318")
		}
		*field(c) = v
		return nil
	}
}

// otlpHeadersSetting parses OTEL_EXPORTER_OTLP_HEADERS: name=value pairs,
// comma-separated, values URL-encoded (OpenTelemetry's format). The error
// never quotes a value.
func otlpHeadersSetting(c *Config, v string) error {
	h := map[string]string{}
	for pair := range strings.SplitSeq(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) {
			return errors.New("must be name=value pairs, comma-separated, each name an HTTP header name, e.g. Authorization=Bearer%20<token>")
		}
		dec, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil || strings.ContainsAny(dec, "\r\n\x00") {
			return errors.New("the value of header " + name + " must be URL-encoded, without CR, LF or NUL")
		}
		h[name] = dec
	}
	if len(h) == 0 {
		h = nil
	}
	c.OTLPHeaders = h
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as a header name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", r) {
			return false
		}
	}
	return true
}

// maskOTLPHeaders shows the headers' names, sorted, with their values masked.
func maskOTLPHeaders(h map[string]string) string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = n + "=********"
	}
	return strings.Join(names, ",")
}

// samplerSetting parses OTEL_TRACES_SAMPLER, in any case.
func samplerSetting(c *Config, v string) error {
	s := strings.ToLower(v)
	for _, known := range Samplers {
		if s == known {
			c.TracesSampler = s
			return nil
		}
	}
	return errors.New("must be one of " + strings.Join(Samplers, ", "))
}
