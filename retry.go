package apicron

import (
	"slices"
	"strings"
	"time"
)

// Retry classes: what a target's retry_on lists.
const (
	RetryTimeout    = "timeout"
	RetryConnection = "connection" // refused, reset, unreachable (not a TLS failure)
	RetryDNS        = "dns"
	RetryTLS        = "tls"
	RetryHTTP5xx    = "http_5xx"
	RetryHTTP429    = "http_429"
	RetryHTTP4xx    = "http_4xx" // a 4xx other than 429
	RetryAssertion  = "assertion"
)

// RetryClasses lists the retry classes.
var RetryClasses = []string{RetryTimeout, RetryConnection, RetryDNS, RetryTLS, RetryHTTP5xx, RetryHTTP429, RetryHTTP4xx, RetryAssertion}

// DefaultRetryOn is what a target without retry_on retries: the failures
// that may pass if tried again.
var DefaultRetryOn = []string{RetryTimeout, RetryConnection, RetryDNS, RetryHTTP5xx, RetryHTTP429}

// Backoff defaults and bounds, in milliseconds.
const (
	DefaultRetryBackoffMs    = 500
	DefaultRetryMaxBackoffMs = 30_000
	MinRetryBackoffMs        = 10
	MaxRetryBackoffMs        = 3_600_000
)

// RetryClass is the retry class of an outcome, or "" for one no policy
// retries (a success, a template error, a redirect refused, a blocked address).
func RetryClass(o *Outcome) string {
	switch o.Status {
	case Timeout:
		return RetryTimeout
	case DNSError:
		return RetryDNS
	case ConnectionError:
		if o.ErrorType == ErrTLS {
			return RetryTLS
		}
		return RetryConnection
	case Failed:
		switch o.ErrorType {
		case ErrHTTP5xx:
			return RetryHTTP5xx
		case ErrHTTP4xx:
			if o.StatusCode != nil && *o.StatusCode == 429 {
				return RetryHTTP429
			}
			return RetryHTTP4xx
		case ErrAssertion:
			return RetryAssertion
		}
	}
	return ""
}

// RetryOnOf returns the classes a list retries: DefaultRetryOn for nil.
func RetryOnOf(list []string) []string {
	if list == nil {
		return DefaultRetryOn
	}
	return list
}

// validateRetry checks a target's retry policy.
func (t *Target) validateRetry() error {
	for i, c := range t.RetryOn {
		if !slices.Contains(RetryClasses, c) {
			return Invalid("retry_on", "entry %d, %q, is not one of %s", i, c, strings.Join(RetryClasses, ", "))
		}
		if slices.Index(t.RetryOn, c) != i {
			return Invalid("retry_on", "lists %q twice", c)
		}
	}
	base, most := t.Backoff()
	if t.RetryBackoffMs != nil && (*t.RetryBackoffMs < MinRetryBackoffMs || *t.RetryBackoffMs > MaxRetryBackoffMs) {
		return Invalid("retry_backoff_ms", "must be between %d and %d", MinRetryBackoffMs, MaxRetryBackoffMs)
	}
	if t.RetryMaxBackoffMs != nil && (*t.RetryMaxBackoffMs < MinRetryBackoffMs || *t.RetryMaxBackoffMs > MaxRetryBackoffMs) {
		return Invalid("retry_max_backoff_ms", "must be between %d and %d", MinRetryBackoffMs, MaxRetryBackoffMs)
	}
	if most < base {
		return Invalid("retry_max_backoff_ms", "must be at least retry_backoff_ms (%d ms), got %d", base.Milliseconds(), most.Milliseconds())
	}
	return nil
}

// Backoff returns the target's first backoff step and its cap.
func (t *Target) Backoff() (base, most time.Duration) {
	b, m := DefaultRetryBackoffMs, DefaultRetryMaxBackoffMs
	if t.RetryBackoffMs != nil {
		b = *t.RetryBackoffMs
	}
	if t.RetryMaxBackoffMs != nil {
		m = *t.RetryMaxBackoffMs
	}
	return time.Duration(b) * time.Millisecond, time.Duration(m) * time.Millisecond
}
