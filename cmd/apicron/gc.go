package main

import (
	"errors"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// gcPercent is the garbage collector's target when GOGC is unset: a
// collection once the heap has grown by four times what was live after the
// last, where Go's default is one time. apicron's live heap is small (tens
// of MiB at 10,000 runs a second) and what it allocates is short-lived, so
// at Go's default it collected several times a second and spent about a
// tenth of its CPU on it; at 400 a run costs about 10% less CPU, for
// 40-60 MiB more RSS at 7,500 runs a second (docs/benchmarks.md).
const gcPercent = 400

// memoryShare is the share of a container's memory limit (cgroup v1 or v2)
// that the heap is held to when GOMEMLIMIT is unset: the collector works
// harder as the heap nears it instead of letting the kernel kill the
// process, so the larger GOGC costs no memory a container does not have.
const memoryShare = 0.9

// gcTuning is what tuneGC set, for the log.
type gcTuning struct {
	percent     int
	percentFrom string // "GOGC" or "default"
	limit       int64  // bytes; math.MaxInt64 is none
	limitFrom   string // "GOMEMLIMIT", "container" or "none"
}

// tuneGC sets the collector's target and soft memory limit where the
// environment leaves them to apicron. getenv is the process environment
// (the Go runtime reads GOGC and GOMEMLIMIT there, not from a .env file),
// limit reports the container's memory limit (memlimit.FromCgroup).
func tuneGC(getenv func(string) string, limit memlimit.Provider, logger *slog.Logger) gcTuning {
	var t gcTuning
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		t.percentFrom = "default"
	} else {
		t.percentFrom = "GOGC"
	}
	t.percent = debug.SetGCPercent(-1)
	debug.SetGCPercent(t.percent)
	if getenv("GOMEMLIMIT") != "" {
		t.limit, t.limitFrom = debug.SetMemoryLimit(-1), "GOMEMLIMIT"
		return t
	}
	// No limit to read (no cgroup, not Linux) is no limit, not an error:
	// most machines have none.
	quiet := func() (uint64, error) {
		n, err := limit()
		if err != nil && !errors.Is(err, memlimit.ErrNoLimit) {
			logger.Debug("no container memory limit found", "reason", err)
			return 0, memlimit.ErrNoLimit
		}
		return n, err
	}
	n, err := memlimit.Set(memlimit.WithProvider(quiet), memlimit.WithRatio(memoryShare), memlimit.WithLogger(logger))
	switch {
	case err != nil: // memlimit has logged it (AUTOMEMLIMIT is not a ratio)
		t.limit, t.limitFrom = debug.SetMemoryLimit(-1), "none"
	case n == math.MaxInt64:
		t.limit, t.limitFrom = n, "none"
	default:
		t.limit, t.limitFrom = n, "container"
	}
	return t
}

// attrs are t as log attributes.
func (t gcTuning) attrs() []any {
	out := []any{"gogc", t.percent, "gogc_from", t.percentFrom, "memory_limit_from", t.limitFrom}
	if t.limit != math.MaxInt64 {
		out = append(out, "memory_limit_mib", t.limit>>20)
	}
	return out
}
