// Package tracing exports the spans of apicron's requests to an
// OpenTelemetry collector over OTLP/HTTP (protobuf), in batches: a tracer
// provider of the OpenTelemetry Go SDK, built from apicron's settings. The
// executor makes the spans (one per attempt, with the ids its traceparent
// header carries); this package only ships them. When no endpoint is set,
// cmd/apicron builds no provider at all and no span is made.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Provider.
type Config struct {
	// URL is where spans are POSTed: the collector's traces URL, such as
	// http://localhost:4318/v1/traces (config.Config.TracesURL). Required.
	URL string
	// Headers are sent with every export (an API key, a tenant).
	Headers map[string]string
	// ServiceName, ServiceVersion and InstanceID describe the process:
	// service.name (default "apicron"), service.version and
	// service.instance.id (the node id) of every span's resource.
	ServiceName, ServiceVersion, InstanceID string
	// Sampler is an OTEL_TRACES_SAMPLER name (default
	// parentbased_always_on); SamplerArg the share of traces the ratio
	// samplers keep.
	Sampler    string
	SamplerArg float64
	// IDGenerator gives spans their ids: the executor's, so that a span's
	// ids are those its request carried. Default: the SDK's random ids.
	IDGenerator sdktrace.IDGenerator
	// Logger receives the export errors (a collector down or refusing),
	// at Warn. Default: discard.
	Logger *slog.Logger
}

// Provider is a running tracer provider: spans handed to its Tracer are
// batched and exported in the background until Shutdown.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// New starts a Provider for cfg. It does not contact the collector: an
// unreachable one shows as export errors in the log, never as a failure
// of apicron or of a run.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.URL == "" {
		return nil, errors.New("tracing: config: URL is required")
	}
	sampler, err := Sampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	name := cfg.ServiceName
	if name == "" {
		name = "apicron"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The SDK reports export errors to the process-wide handler only.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("export spans", "err", err)
	}))
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(cfg.URL)}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	if cfg.InstanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.InstanceID))
	}
	// OTEL_RESOURCE_ATTRIBUTES (read from the process environment) adds
	// to these; apicron's own settings win.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithFromEnv(), resource.WithAttributes(attrs...))
	if err != nil {
		logger.Warn("span resource", "err", err) // a malformed OTEL_RESOURCE_ATTRIBUTES: keep what parsed
	}
	popts := []sdktrace.TracerProviderOption{
		sdktrace.WithBatcher(exp), sdktrace.WithSampler(sampler), sdktrace.WithResource(res),
	}
	if cfg.IDGenerator != nil {
		popts = append(popts, sdktrace.WithIDGenerator(cfg.IDGenerator))
	}
	return &Provider{tp: sdktrace.NewTracerProvider(popts...)}, nil
}

// Tracer is the tracer the executor records its spans with; nil for a nil
// Provider (no export), which makes the executor make no span.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.tp.Tracer("github.com/apicron/apicron")
}

// ShutdownTimeout bounds how long Shutdown waits for the last spans to
// reach the collector, when its ctx has no deadline of its own.
const ShutdownTimeout = 5 * time.Second

// Shutdown exports the spans still batched and stops the provider; spans
// ended afterwards are dropped. Call it once the requests have finished.
func (p *Provider) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ShutdownTimeout)
		defer cancel()
	}
	return p.tp.Shutdown(ctx)
}

// Sampler returns the SDK sampler an OTEL_TRACES_SAMPLER name stands for,
// ratio being OTEL_TRACES_SAMPLER_ARG for the ratio samplers; "" is the
// default, parentbased_always_on.
func Sampler(name string, ratio float64) (sdktrace.Sampler, error) {
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("tracing: unknown sampler %q", name)
}
