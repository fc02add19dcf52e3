package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// benchAssertions are the target's success checks with --assertions. The
// sink answers 200 "ok", so every run passes them: what a run measures is
// their cost, and a failure is a fault to look at.
var benchAssertions = json.RawMessage(`[{"type": "status", "in": ["2xx"]}, {"type": "body_contains", "value": "ok"}]`)

// checkManyOnly validates the flags that only the many scenario takes: the
// stall and the features measured beside a plain run.
func checkManyOnly(o options, set map[string]bool) error {
	for _, name := range []string{"stall", "stall-at", "stall-for", "timezone", "assertions", "signing"} {
		if set[name] && o.scenario != "many" {
			return fmt.Errorf("--%s is for --scenario many", name)
		}
	}
	switch o.stall {
	case stallNone:
		if set["stall-at"] || set["stall-for"] {
			return fmt.Errorf("--stall-at and --stall-for need --stall sigstop or dblock")
		}
	case stallSIGSTOP, stallDBLock:
		if o.stallFor <= 0 || o.stallAt < 0 {
			return fmt.Errorf("--stall-for must be positive and --stall-at not negative")
		}
		if o.stallAt+o.stallFor > o.duration {
			return fmt.Errorf("--stall-at %s + --stall-for %s must end inside the steady window (--duration %s)", o.stallAt, o.stallFor, o.duration)
		}
	default:
		return fmt.Errorf("--stall must be none, sigstop or dblock, got %q", o.stall)
	}
	if o.timezone != "" && o.kind != "cron" {
		return fmt.Errorf("--timezone is for --kind cron (INTERVAL schedules read no wall clock)")
	}
	return nil
}

// targetFeatures are the fields --assertions and --signing add to the sink's target.
func (o options) targetFeatures() map[string]any {
	extra := map[string]any{}
	if o.assertions {
		extra["assertions"] = benchAssertions
	}
	if o.signing {
		extra["signing_secrets"] = []string{"generate"}
	}
	return extra
}

// FeatureRun is what the features of a run (--timezone, --assertions,
// --signing) did, so that a check that failed or a request left unsigned shows.
type FeatureRun struct {
	Timezone   string          `json:"timezone,omitempty"`
	Assertions json.RawMessage `json:"target_assertions,omitempty"`
	Signing    bool            `json:"signing"`
	// RunErrorTypes counts the runs rows by error_type (all of them, the
	// successful ones left out).
	RunErrorTypes    map[string]int64 `json:"run_error_types"`
	AssertionFailed  int64            `json:"runs_assertion_failed"`
	SignedRequests   int64            `json:"signed_requests"` // sink requests with a webhook-signature header
	SinkRequests     int64            `json:"sink_requests"`   // every request the sink got while apicron ran
	ErrorTypesFailed string           `json:"run_error_types_error,omitempty"`
}

// featureFigures reads what the features did, once apicron has stopped:
// signed and sink requests are the sink's counts over apicron's whole life.
func featureFigures(ctx context.Context, db *sql.DB, o options, signed, sinkRequests int64) *FeatureRun {
	if o.timezone == "" && !o.assertions && !o.signing {
		return nil
	}
	f := &FeatureRun{Timezone: o.timezone, Signing: o.signing, SignedRequests: signed, SinkRequests: sinkRequests}
	if o.assertions {
		f.Assertions = benchAssertions
	}
	var err error
	if f.RunErrorTypes, err = runErrorTypes(ctx, db); err != nil {
		f.ErrorTypesFailed = err.Error()
	}
	f.AssertionFailed = f.RunErrorTypes["assertion"]
	return f
}

// runErrorTypes counts the runs rows by error_type, those without one left out.
func runErrorTypes(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT error_type, COUNT(*) FROM runs WHERE error_type <> '' GROUP BY error_type")
	if err != nil {
		return nil, fmt.Errorf("count runs by error_type: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, fmt.Errorf("count runs by error_type: %w", err)
		}
		out[t] = n
	}
	return out, rows.Err()
}

// featureTitle is what the markdown title adds for the features and the stall.
func featureTitle(r *Report) string {
	var parts []string
	if r.Timezone != "" {
		parts = append(parts, "timezone "+r.Timezone)
	}
	if r.Assertions {
		parts = append(parts, "assertions")
	}
	if r.Signing {
		parts = append(parts, "signed")
	}
	if s := r.Stall; s != nil {
		parts = append(parts, fmt.Sprintf("stall %s for %gs at %gs", s.Kind, float64(s.PlannedForS), float64(s.PlannedAtS)))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func renderFeatures(b *strings.Builder, r *Report) {
	f := r.Features
	if f == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n| features | value |\n|---|---|\n")
	if f.Timezone != "" {
		p("| schedules' timezone | %s (CRON %q read on its wall clock) |\n", f.Timezone, cronFor(time.Duration(r.IntervalS*float64(time.Second))))
	}
	if len(f.Assertions) > 0 {
		p("| target's assertions | `%s` |\n", f.Assertions)
	}
	var types []string
	for t, n := range f.RunErrorTypes {
		types = append(types, fmt.Sprintf("%s %s", t, fmtInt(n)))
	}
	sortStrings(types)
	errTypes := "none"
	if len(types) > 0 {
		errTypes = strings.Join(types, ", ")
	}
	if f.ErrorTypesFailed != "" {
		errTypes = "not read: " + f.ErrorTypesFailed
	}
	p("| runs failed by an assertion (error_type assertion, every runs row) | %s; runs by error_type: %s |\n", fmtInt(f.AssertionFailed), errTypes)
	if f.Signing {
		fired := ""
		if a := r.Apicron; a != nil {
			fired = fmt.Sprintf(": %s occurrences fired in the window, %s after it, %s unlabelled", fmtInt(a.All.Fired+a.All.DupSink),
				fmtInt(a.AfterWindowSink), fmtInt(a.Unlabelled))
		}
		p("| signed requests (webhook-signature, not verified) | %s of the %s requests apicron sent to the sink%s |\n",
			fmtInt(f.SignedRequests), fmtInt(f.SinkRequests), fired)
	}
}
