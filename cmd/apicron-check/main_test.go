package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/histcheck"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// history runs a schedule three times against a sink whose log is a
// file, as a fault test would, and returns the database's path, the
// log's, and the target's id. The store is closed, as apicron would be.
func history(t *testing.T) (dbPath, logPath string, target int64) {
	t.Helper()
	dir := t.TempDir()
	logPath = filepath.Join(dir, "sink.jsonl")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log := histcheck.NewLog(f)
	sink := httptest.NewServer(histcheck.Record(log, nil))
	defer sink.Close()

	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := storetest.NewClock(t0)
	dbPath = filepath.Join(dir, "apicron.db")
	db := storetest.OpenDSN(t, "sqlite", dbPath, store.Config{Clock: clock})
	tg := &apicron.Target{Name: "sink", URL: sink.URL}
	if err := db.CreateTarget(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	s := &apicron.Schedule{Name: "every", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10}
	if err := db.CreateSchedule(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	exec := executor.New(executor.Config{Now: clock.Now})
	for i := range 3 {
		now := clock.Add(time.Duration(min(i, 1)) * 10 * time.Second)
		res, err := db.Claim(t.Context(), now, now, []int64{s.ID}, nil)
		if err != nil || len(res) != 1 || res[0].Job == nil {
			t.Fatalf("claim at %v: %v %v", now, res, err)
		}
		if err := db.Finish(t.Context(), []apicron.RunResult{exec.Execute(t.Context(), res[0].Job)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Err(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dbPath, logPath, tg.ID
}

func runCheck(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	t.Logf("apicron-check %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// TestSound: a sound history exits 0, read from a file or stdin, with
// the database given as a sqlite:/// URL or a plain path.
func TestSound(t *testing.T) {
	dbPath, logPath, target := history(t)
	if code, out, _ := runCheck(t, "", "--database-url", "sqlite:///"+dbPath, "--sink-log", logPath, "--targets", strconv.FormatInt(target, 10)); code != 0 || !strings.HasPrefix(out, "history sound; 3 requests") {
		t.Errorf("exit %d, output %q; want 0 and a sound history of 3 requests", code, out)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCheck(t, string(data), "--database-url", dbPath, "--sink-log", "-"); code != 0 {
		t.Errorf("from stdin: exit %d, want 0", code)
	}
}

// TestViolations: a request logged twice exits 1, and --json reports it.
func TestViolations(t *testing.T) {
	dbPath, logPath, _ := history(t)
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if err := os.WriteFile(logPath, append(data, first+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCheck(t, "", "--database-url", dbPath, "--sink-log", logPath, "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep struct {
		OK         bool
		Violations []histcheck.Violation
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if rep.OK || len(rep.Violations) != 1 || rep.Violations[0].Kind != histcheck.DuplicateSend {
		t.Errorf("report %+v, want one duplicate_send", rep)
	}
}

// TestUsageErrors: what cannot be checked exits 2.
func TestUsageErrors(t *testing.T) {
	dbPath, logPath, _ := history(t)
	for name, args := range map[string][]string{
		"no flags":       nil,
		"no sink log":    {"--database-url", dbPath},
		"bad targets":    {"--database-url", dbPath, "--sink-log", logPath, "--targets", "1,x"},
		"bad url":        {"--database-url", "mysql://x", "--sink-log", logPath},
		"missing db":     {"--database-url", filepath.Join(t.TempDir(), "none.db"), "--sink-log", logPath},
		"missing log":    {"--database-url", dbPath, "--sink-log", filepath.Join(t.TempDir(), "none.jsonl")},
		"unknown flag":   {"--database-url", dbPath, "--sink-log", logPath, "--nope"},
		"extra argument": {"--database-url", dbPath, "--sink-log", logPath, "extra"},
	} {
		if code, _, _ := runCheck(t, "", args...); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
	}
	if code, _, _ := runCheck(t, "{broken\n", "--database-url", dbPath, "--sink-log", "-"); code != 2 {
		t.Errorf("a log that does not parse: exit %d, want 2", code)
	}
}
