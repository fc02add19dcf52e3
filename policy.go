package apicron

import "time"

// OverlapPolicy says what an occurrence does that comes due while a run of
// its schedule is in flight.
type OverlapPolicy string

// Overlap policies.
const (
	// OverlapSkip skips it, counted as skipped_overlap (the seed's
	// max_instances=1). The default.
	OverlapSkip OverlapPolicy = "skip"
	// OverlapBufferOne lets it wait for the run in flight to end, then
	// run; occurrences that come due meanwhile are coalesced into it.
	OverlapBufferOne OverlapPolicy = "buffer_one"
	// OverlapAllow runs it alongside, up to MaxParallel runs at once; beyond, it is skipped.
	OverlapAllow OverlapPolicy = "allow"
	// OverlapReplace interrupts the run in flight (INTERRUPTED, with the
	// reason) and runs the new occurrence.
	OverlapReplace OverlapPolicy = "replace"
)

// OverlapPolicies lists the overlap policies.
var OverlapPolicies = []OverlapPolicy{OverlapSkip, OverlapBufferOne, OverlapAllow, OverlapReplace}

// MisfirePolicy says what a schedule does with occurrences it missed (the
// service was down or overloaded when they came due).
type MisfirePolicy string

// Misfire policies.
const (
	// MisfireCoalesce runs the latest missed occurrence once, at once, the
	// others counted as missed on it (the seed's coalesce=True). The default.
	MisfireCoalesce MisfirePolicy = "coalesce"
	// MisfireSkip runs none of them: an occurrence claimed later than its
	// grace is counted as missed and the schedule waits for its next one.
	MisfireSkip MisfirePolicy = "skip"
	// MisfireCatchUp runs each missed occurrence, oldest first and one at a
	// time, at most CatchUpMax of them (the newest) and only those within
	// the grace; the others are counted as missed.
	MisfireCatchUp MisfirePolicy = "catch_up"
)

// MisfirePolicies lists the misfire policies.
var MisfirePolicies = []MisfirePolicy{MisfireCoalesce, MisfireSkip, MisfireCatchUp}

// Policy limits and defaults.
const (
	MaxParallelLimit   = 1000
	DefaultMaxParallel = 10
	MaxCatchUp         = 1000
	DefaultCatchUpMax  = 10
	// DefaultSkipGrace is how late an occurrence of a misfire_policy skip
	// schedule without misfire_grace_seconds may still run.
	DefaultSkipGrace = time.Second
)

func (s *Schedule) validatePolicies() error {
	switch s.OverlapPolicy {
	case "", OverlapSkip, OverlapBufferOne, OverlapReplace:
		if s.MaxParallel != nil {
			return Invalid("max_parallel", "is only allowed with overlap_policy allow")
		}
	case OverlapAllow:
		if s.MaxParallel != nil && (*s.MaxParallel < 1 || *s.MaxParallel > MaxParallelLimit) {
			return Invalid("max_parallel", "must be an integer between 1 and %d", MaxParallelLimit)
		}
	default:
		return Invalid("overlap_policy", "must be skip, buffer_one, allow or replace, got %q", s.OverlapPolicy)
	}
	switch s.MisfirePolicy {
	case "", MisfireCoalesce, MisfireSkip:
		if s.CatchUpMax != nil {
			return Invalid("catch_up_max", "is only allowed with misfire_policy catch_up")
		}
	case MisfireCatchUp:
		if s.CatchUpMax != nil && (*s.CatchUpMax < 1 || *s.CatchUpMax > MaxCatchUp) {
			return Invalid("catch_up_max", "must be an integer between 1 and %d", MaxCatchUp)
		}
	default:
		return Invalid("misfire_policy", "must be coalesce, skip or catch_up, got %q", s.MisfirePolicy)
	}
	return nil
}

// Overlap returns the schedule's overlap policy and how many of its runs
// may be in flight at once under it.
func (s *Schedule) Overlap() (OverlapPolicy, int) {
	switch s.OverlapPolicy {
	case OverlapAllow:
		if s.MaxParallel != nil {
			return OverlapAllow, *s.MaxParallel
		}
		return OverlapAllow, DefaultMaxParallel
	case "":
		return OverlapSkip, 1
	}
	return s.OverlapPolicy, 1
}

// misfire returns the schedule's misfire policy, its grace (negative: none)
// and its catch-up bound.
func (s *Schedule) misfire() (MisfirePolicy, time.Duration, int) {
	p := s.MisfirePolicy
	if p == "" {
		p = MisfireCoalesce
	}
	grace := time.Duration(-1)
	if s.MisfireGraceSeconds != nil {
		grace = time.Duration(*s.MisfireGraceSeconds) * time.Second
	} else if p == MisfireSkip {
		grace = DefaultSkipGrace
	}
	n := DefaultCatchUpMax
	if s.CatchUpMax != nil {
		n = *s.CatchUpMax
	}
	return p, grace, n
}
