package executor

import "time"

// Backoff parameters: the wait after attempt n is drawn from
// [c/2, c] where c = min(BackoffBase * 2^(n-1), BackoffCap).
const (
	BackoffBase = 500 * time.Millisecond
	BackoffCap  = 30 * time.Second
)

// Backoff returns how long to wait after failed attempt number attempt
// (1-based) before the next one. It is exponential with equal jitter: half
// of the step is fixed, so retries are never bunched at zero, and half is
// spread by rnd, a number in [0, 1) (clamped to [0, 1]), so runs that failed
// together do not retry together. The steps are 0.5s, 1s, 2s, ... capped at
// 30s: the wait after attempt 1 is in [250ms, 500ms], after attempt 7 and
// later in [15s, 30s]. A target's Retry-After, retryAfter, is a minimum:
// the result is never less.
func Backoff(attempt int, retryAfter time.Duration, rnd float64) time.Duration {
	return BackoffWith(BackoffBase, BackoffCap, attempt, retryAfter, rnd)
}

// BackoffWith is Backoff with a target's first step (base) and cap; zero
// takes BackoffBase and BackoffCap.
func BackoffWith(base, most time.Duration, attempt int, retryAfter time.Duration, rnd float64) time.Duration {
	if base <= 0 {
		base = BackoffBase
	}
	if most <= 0 {
		most = BackoffCap
	}
	step := most
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 32 {
		if d := base << (attempt - 1); d > 0 && d < step {
			step = d
		}
	}
	if !(rnd >= 0) { // also NaN
		rnd = 0
	} else if rnd > 1 {
		rnd = 1
	}
	half := step / 2
	d := half + time.Duration(rnd*float64(step-half))
	return max(d, retryAfter)
}
