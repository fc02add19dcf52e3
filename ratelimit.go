package apicron

import (
	"math"
	"strconv"
)

// Rate limit bounds. The lowest rate is one request every 10,000 s (under
// three hours): slower than that is a timetable, not flow control. The
// highest rate and burst stay far above what one node sends to one host.
const (
	MinRatePerSecond = 0.0001
	MaxRatePerSecond = 10_000
	MaxRateBurst     = 10_000
)

// RateLimit is a target's flow control: at most PerSecond requests a
// second to its host, on average, and Burst at once after a quiet spell (a
// token bucket). Every attempt, a retry too, takes a token.
type RateLimit struct {
	PerSecond float64
	// Burst is the bucket's size; zero, before Normalize, means
	// DefaultBurst.
	Burst int
}

// DefaultBurst is the burst of a rate limit that sets none: one second's
// worth of requests, and at least one.
func DefaultBurst(perSecond float64) int {
	if !(perSecond > 1) {
		return 1
	}
	return int(math.Min(math.Ceil(perSecond), MaxRateBurst))
}

// Normalize sets a zero Burst to DefaultBurst.
func (r *RateLimit) Normalize() {
	if r.Burst == 0 {
		r.Burst = DefaultBurst(r.PerSecond)
	}
}

// Validate returns an EINVALID error on rate_limit's field that breaks a rule.
func (r *RateLimit) Validate() error {
	switch ps := r.PerSecond; {
	case !(ps > 0):
		return Invalid("rate_limit.per_second", "must be greater than 0, got %s", strconv.FormatFloat(ps, 'g', -1, 64))
	case ps < MinRatePerSecond:
		return Invalid("rate_limit.per_second", "must be at least %g (one request every %d s), got %s",
			MinRatePerSecond, int(1/MinRatePerSecond), strconv.FormatFloat(ps, 'g', -1, 64))
	case ps > MaxRatePerSecond:
		return Invalid("rate_limit.per_second", "must be at most %d, got %s", MaxRatePerSecond, strconv.FormatFloat(ps, 'g', -1, 64))
	}
	if r.Burst < 1 || r.Burst > MaxRateBurst {
		return Invalid("rate_limit.burst", "must be between 1 and %d, got %d", MaxRateBurst, r.Burst)
	}
	return nil
}

// Stricter returns the limit that keeps both r and o: the lower rate and
// the smaller burst.
func (r RateLimit) Stricter(o RateLimit) RateLimit {
	return RateLimit{PerSecond: math.Min(r.PerSecond, o.PerSecond), Burst: min(r.Burst, o.Burst)}
}

// String says the limit as a person reads it: "2 requests/s, burst 1".
func (r RateLimit) String() string {
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + " requests/s, burst " + strconv.Itoa(r.Burst)
}
