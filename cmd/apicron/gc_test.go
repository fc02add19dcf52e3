package main

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// keepGC restores the collector's settings after a test that changes them.
func keepGC(t *testing.T) {
	t.Helper()
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("AUTOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT or AUTOMEMLIMIT is set in this process's environment, which memlimit reads itself")
	}
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(percent)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

// limitOf is a container whose memory limit is n bytes; calls counts the reads.
func limitOf(n uint64, calls *int) memlimit.Provider {
	return func() (uint64, error) { *calls++; return n, nil }
}

func TestTuneGC_DefaultsWhereTheEnvironmentIsSilent(t *testing.T) {
	keepGC(t)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	calls := 0
	got := tuneGC(env(nil), limitOf(1000<<20, &calls), slog.New(slog.DiscardHandler))
	if got.percent != gcPercent || got.percentFrom != "default" || debug.SetGCPercent(-1) != gcPercent {
		t.Errorf("GOGC unset: %+v, want %d from the default, applied", got, gcPercent)
	}
	want := int64(900 << 20) // 90% of the container's 1000 MiB
	if got.limit != want || got.limitFrom != "container" || debug.SetMemoryLimit(-1) != want || calls != 1 {
		t.Errorf("a container of 1000 MiB: %+v (read %d times), want a limit of %d bytes from it, applied", got, calls, want)
	}
}

func TestTuneGC_TheEnvironmentWins(t *testing.T) {
	keepGC(t)
	debug.SetGCPercent(150) // as the runtime would have from GOGC=150
	debug.SetMemoryLimit(300 << 20)
	calls := 0
	got := tuneGC(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "300MiB"}), limitOf(1000<<20, &calls), slog.New(slog.DiscardHandler))
	if got.percent != 150 || got.percentFrom != "GOGC" || debug.SetGCPercent(-1) != 150 {
		t.Errorf("GOGC=150: %+v, want 150 from GOGC, left as it is", got)
	}
	if got.limit != 300<<20 || got.limitFrom != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != 300<<20 || calls != 0 {
		t.Errorf("GOMEMLIMIT=300MiB: %+v (container read %d times), want 300 MiB from GOMEMLIMIT, the container not read", got, calls)
	}
}

// A machine with no container limit to read (no cgroup, another OS) has no
// limit, and says so only at DEBUG: it is not a fault.
func TestTuneGC_NoContainerLimitIsNoLimit(t *testing.T) {
	keepGC(t)
	debug.SetMemoryLimit(math.MaxInt64)
	for name, provider := range map[string]memlimit.Provider{
		"unlimited":  func() (uint64, error) { return 0, memlimit.ErrNoLimit },
		"unreadable": func() (uint64, error) { return 0, errors.New("cgroups is not supported on this system") },
	} {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		got := tuneGC(env(nil), provider, logger)
		if got.limit != math.MaxInt64 || got.limitFrom != "none" || debug.SetMemoryLimit(-1) != math.MaxInt64 {
			t.Errorf("%s: %+v, want no limit", name, got)
		}
		if s := logs.String(); strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
			t.Errorf("%s: logged a fault:\n%s", name, s)
		}
		if a := got.attrs(); len(a) != 6 {
			t.Errorf("%s: attrs %v name a memory limit", name, a)
		}
	}
}
