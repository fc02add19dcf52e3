package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// runCmd calls run, as main does, with args and env, and returns what it
// printed and its error.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, "", &out, &errOut)
	return out.String(), err
}

// TestBackup_WhileServing backs up the database of a running apicron whose
// schedules keep writing runs, opens the copy as a store and finds the
// targets, schedules and runs, then serves the API from the copy.
func TestBackup_WhileServing(t *testing.T) {
	t.Parallel()
	ts, _ := okTarget(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	s := startServer(t, db, nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	var sids []int64
	for i := range 5 {
		sids = append(sids, createSchedule(t, s, map[string]any{"name": fmt.Sprintf("every-1-%d", i), "target_id": tid,
			"schedule_type": "INTERVAL", "interval_seconds": 1}))
	}
	waitFor(t, 15*time.Second, "two finished runs of each schedule", func() bool {
		for _, id := range sids {
			if len(finished(runsOf(t, s.url, id))) < 2 {
				return false
			}
		}
		return true
	})
	bk := filepath.Join(dir, "backup.db")
	out, err := runCmd(t, nil, "backup", "--to", bk, "--database-url", "sqlite:///"+db)
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	// The server is still writing: another backup to the same file is refused.
	if _, err := runCmd(t, nil, "backup", "--database-url", "sqlite:///"+db, "--to="+bk); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("second backup to %s: %v, want already exists", bk, err)
	}
	live := len(runsOf(t, s.url, sids[0]))

	ctx := context.Background()
	b, err := store.Open(ctx, store.Config{Driver: "sqlite", DSN: bk})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	if _, err := b.FindTargetByID(ctx, tid); err != nil {
		t.Errorf("target in the backup: %v", err)
	}
	for _, id := range sids {
		if _, err := b.FindScheduleByID(ctx, id); err != nil {
			t.Errorf("schedule %d in the backup: %v", id, err)
		}
		runs, n, err := b.FindRuns(ctx, apicron.RunFilter{ScheduleID: &id, Limit: 1000})
		if err != nil || n < 2 {
			t.Errorf("schedule %d: %d runs in the backup, %v; want 2 or more", id, n, err)
		}
		for _, r := range runs {
			if r.Status != apicron.Success && r.Status != apicron.Running {
				t.Errorf("run %d in the backup is %s", r.ID, r.Status)
			}
		}
	}
	b.Close()
	t.Logf("schedule %d: %d runs live after the backup", sids[0], live)

	// The copy serves: a second apicron on it lists what was backed up.
	c := startServer(t, bk, nil)
	var schedules []scheduleJSON
	if code := call(t, "GET", c.url+"/schedules", nil, &schedules); code != 200 || len(schedules) != len(sids) {
		t.Fatalf("GET /schedules on the backup: %d, %d schedules", code, len(schedules))
	}
	if code, _ := healthOf(c.url); code != 200 {
		t.Errorf("/health on the backup: %d", code)
	}
	if runs := runsOf(t, c.url, sids[0]); len(runs) < 2 {
		t.Errorf("GET /runs on the backup: %d runs", len(runs))
	}
}

// TestRun_BackupRefused: no --to, a PostgreSQL database, and --to given to
// another command are errors that say what to do.
func TestRun_BackupRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"backup"}, "--to FILE"},
		{[]string{"backup", "--to"}, "--to needs a file name"},
		{[]string{"backup", "--to", "x.db", "--database-url", "postgres://u:pw@127.0.0.1:1/db"}, "pg_dump"},
		{[]string{"--to", "x.db"}, "--to is a flag of apicron backup, not of serve"},
		{[]string{"migrate", "--to", "x.db"}, "--to is a flag of apicron backup, not of migrate"},
		{[]string{"backup", "now", "--to", "x.db"}, "takes no arguments"},
	} {
		out, err := runCmd(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %q, %v; want an error with %q", tt.args, out, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%v: the error shows the password: %v", tt.args, err)
		}
	}
}

// TestRun_Migrate: migrate lists a new database's migrations as pending
// without creating it, serve with AUTO_MIGRATE=false refuses it, migrate up
// applies them, and then serve with AUTO_MIGRATE=false starts.
func TestRun_Migrate(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		dsn := storetest.NewDSN(t, driver)
		url := dsn
		if driver == "sqlite" {
			url = "sqlite:///" + dsn
		}
		db := []string{"--database-url", url}
		out, err := runCmd(t, nil, append([]string{"migrate"}, db...)...)
		if err != nil || !strings.Contains(out, "0001_init.sql") || !strings.Contains(out, "0 applied") ||
			!strings.Contains(out, "apicron migrate up") {
			t.Fatalf("migrate on a new database: %v\n%s", err, out)
		}
		if driver == "sqlite" {
			if _, err := os.Stat(dsn); !os.IsNotExist(err) {
				t.Errorf("migrate status created the database: %v", err)
			}
		}
		if out2, err := runCmd(t, nil, append([]string{"migrate", "up", "--dry-run"}, db...)...); err != nil || out2 != out {
			t.Errorf("migrate up --dry-run: %v\n%s\nwant what migrate printed", err, out2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = run(ctx, append([]string{"--port", "0", "--auto-migrate=false"}, db...), nil, "", &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "pending migration") || !strings.Contains(err.Error(), "apicron migrate up") {
			t.Fatalf("serve with AUTO_MIGRATE=false on a new database: %v", err)
		}
		out, err = runCmd(t, nil, append([]string{"migrate", "up"}, db...)...)
		if err != nil || !strings.Contains(out, "applied 0001_init.sql") || !strings.Contains(out, " 0 pending") {
			t.Fatalf("migrate up: %v\n%s", err, out)
		}
		out, err = runCmd(t, nil, append([]string{"migrate", "status"}, db...)...)
		if err != nil || regexp.MustCompile(`(?m)\.sql +pending$`).MatchString(out) || !strings.Contains(out, " 0 pending") {
			t.Fatalf("migrate status after up: %v\n%s", err, out)
		}
		if out, err = runCmd(t, nil, append([]string{"migrate", "up"}, db...)...); err != nil || strings.Contains(out, "applied 0") {
			t.Errorf("migrate up with nothing to apply: %v\n%s", err, out)
		}
		if _, err := runCmd(t, nil, append([]string{"migrate", "down"}, db...)...); err == nil {
			t.Error("migrate down: no error")
		}
		if driver == "sqlite" {
			s := startServer(t, dsn, map[string]string{"AUTO_MIGRATE": "false"})
			if code, _ := healthOf(s.url); code != 200 {
				t.Errorf("/health: %d", code)
			}
			// A running apicron holds the database: status still reads it.
			if out, err := runCmd(t, nil, append([]string{"migrate"}, db...)...); err != nil || !strings.Contains(out, " 0 pending") {
				t.Errorf("migrate while serving: %v\n%s", err, out)
			}
		}
	})
}

// TestRun_ConfigCheck: config check prints every setting with where it
// came from, secrets masked, and fails, saying why, on what serve would
// refuse; it creates no database and, with --ping, reads it.
func TestRun_ConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "check.db")
	env := map[string]string{"API_TOKEN": "a-very-secret-token-value", "SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	out, err := runCmd(t, env, "config", "check", "--database-url", "sqlite:///"+db, "--port", "8123")
	if err != nil || !strings.HasSuffix(out, "configuration OK\n") {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	for _, secret := range []string{"a-very-secret-token-value", "MDEyMzQ1"} {
		if strings.Contains(out, secret) {
			t.Errorf("config check shows a secret:\n%s", out)
		}
	}
	for _, want := range []string{`API_TOKEN +\*{8} +env`, `SECRET_KEY +\*{8} +env`, `PORT +8123 +flag`,
		`LOG_LEVEL +INFO +default`, `ACCESS_LOG +false +default`, `AUTO_MIGRATE +true +default`, `APP_VERSION +\(unset\) +default`} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(out) {
			t.Errorf("config check lacks a line %s:\n%s", want, out)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("config check created the database: %v", err)
	}
	out, err = runCmd(t, nil, "config", "check", "--ping", "--database-url", "sqlite:///"+db)
	if err != nil || !strings.Contains(out, "does not exist yet") {
		t.Errorf("config check --ping on a new database: %v\n%s", err, out)
	}
	if _, err := runCmd(t, nil, "migrate", "up", "--database-url", "sqlite:///"+db); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, nil, "config", "check", "--ping", "--database-url", "sqlite:///"+db)
	if err != nil || !strings.Contains(out, "database: answers;") {
		t.Errorf("config check --ping: %v\n%s", err, out)
	}

	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"config", "check", "--host", "0.0.0.0"}, nil, "refusing to listen on 0.0.0.0:8000 without an access token"},
		{[]string{"config", "check"}, map[string]string{"PORT": "99999"}, "invalid PORT"},
		{[]string{"config", "check"}, map[string]string{"SECRET_KEY": "short"}, "invalid SECRET_KEY"},
		{[]string{"config", "check"}, map[string]string{"DATABASE_URL": "mysql://x"}, "invalid DATABASE_URL"},
		{[]string{"config", "check", "--max-api-connections", "10000000"}, nil, "MAX_API_CONNECTIONS is 10000000"},
		{[]string{"config", "check", "--ping", "--database-url", "postgres://u:pw@127.0.0.1:1/db?connect_timeout=5"}, nil, "database (DATABASE_URL)"},
		{[]string{"config"}, nil, "apicron config check"},
		{[]string{"config", "check", "--ping=maybe"}, nil, "--ping takes true or false"},
	} {
		out, err := runCmd(t, tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v; want an error with %q\n%s", tt.args, tt.env, err, tt.want, out)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%v: the error shows the password: %v", tt.args, err)
		}
	}
}

// TestServe_AccessLogAndRunLines: with ACCESS_LOG every API request is a
// line, and every line about a run names its schedule and the run.
func TestServe_AccessLogAndRunLines(t *testing.T) {
	t.Parallel()
	ts, _ := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "access.db"), map[string]string{"ACCESS_LOG": "true", "LOG_LEVEL": "DEBUG"})
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "once", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	waitFor(t, 10*time.Second, "a finished run", func() bool { return len(finished(runsOf(t, s.url, sid))) == 1 })
	run := finished(runsOf(t, s.url, sid))[0]
	s.stop()
	var access, attempts int
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `msg="http request"`) {
			access++
			for _, want := range []string{"method=", "path=/", "status=", "bytes=", "duration_ms=", "remote=127.0.0.1:", "component=httpapi"} {
				if !strings.Contains(line, want) {
					t.Errorf("access line without %s: %s", want, line)
				}
			}
		}
		if strings.Contains(line, `msg="attempt finished"`) {
			attempts++
			if !strings.Contains(line, fmt.Sprintf("run_id=%d schedule_id=%d", run.ID, sid)) {
				t.Errorf("run line without run_id=%d schedule_id=%d: %s", run.ID, sid, line)
			}
		}
	}
	if !strings.Contains(s.logs.String(), `msg="http request" component=httpapi method=POST path=/targets status=201`) {
		t.Errorf("no access line for POST /targets:\n%s", s.logs)
	}
	if access < 3 || attempts != 1 {
		t.Errorf("%d access lines (want 3 or more) and %d attempt lines (want 1):\n%s", access, attempts, s.logs)
	}
}
