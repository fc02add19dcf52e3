package main

// The upgrade test: a database made by a released apicron (a fixture in
// testdata/upgrade, made by make-fixture.sh there) is opened by the binary
// built from this tree. It must migrate it, keep every schedule on the grid
// it had, coalesce the time since the fixture was made as each schedule's
// misfire policy says, keep the old runs readable, and still decrypt the
// secrets the release encrypted.

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to load a fixture's SQL
)

// upgradeSecrets is what make-fixture.sh sets on each target: the headers
// each request of the target must carry, secrets included.
var upgradeSecrets = map[string]map[string]string{
	"fixture-ok": {
		"X-Api-Key":       "fixture-api-key-1",
		"X-Fixture-Token": "fixture-custom-secret",
		"X-Plain":         "plain-value",
	},
	"fixture-basic": {
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("fixture-user:fixture-password")),
	},
	"fixture-fail": {"Authorization": "Bearer fixture-bearer-token"},
	"fixture-slow": {"X-Api-Key": "fixture-api-key-slow"},
}

// upgradeSigningSecret is the signing secret make-fixture.sh gives fixture-ok.
const upgradeSigningSecret = "whsec_Zml4dHVyZS1zaWduaW5nLWtleS0wMTIzNDU2Nzg5YWI="

// upgradeSchedule is a schedule as the fixture left it.
type upgradeSchedule struct {
	id, targetID             int64
	name, kind, target       string
	status, stoppedReason    string
	intervalMs, anchorAt     int64
	cron, zone               string
	nextRunAt, endAt         sql.NullInt64
	runCount                 int64
	misfire                  string
	catchUpMax               sql.NullInt64
	missedStat, skippedStat  int64
	lastRunAt                int64 // its newest run's scheduled_at, 0 without runs
	timetable                apicron.Timetable
	runs                     int
	afterRunCount            int64
	afterStatus, afterReason string
}

// upgradeRun is a run as the database holds it.
type upgradeRun struct {
	id, scheduleID, scheduledAt, startedAt, missed int64
	status, trigger                                string
}

// upgradeArrival is a request the sink received.
type upgradeArrival struct {
	path   string
	header http.Header
}

// upgradeSink is the test's target: it answers make-fixture.sh's paths
// (/status/{code}, /delay/{ms}) and keeps every request.
type upgradeSink struct {
	mu  sync.Mutex
	got []upgradeArrival
}

func (s *upgradeSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.got = append(s.got, upgradeArrival{r.URL.Path, r.Header.Clone()})
	s.mu.Unlock()
	code := http.StatusOK
	if rest, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 200 && n <= 599 {
			code = n
		}
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/delay/"); ok {
		if ms, err := strconv.Atoi(rest); err == nil {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%d}`, code)
}

func (s *upgradeSink) arrivals() []upgradeArrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]upgradeArrival(nil), s.got...)
}

func TestUpgrade_FromLastRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary on each release's fixture and lets it fire for about 10 s; run without -short")
	}
	fixtures, err := filepath.Glob(filepath.Join("testdata", "upgrade", "*.sql"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixture in testdata/upgrade (%v)", err)
	}
	bin := buildBinary(t)
	for _, fixture := range fixtures {
		name := strings.TrimSuffix(filepath.Base(fixture), ".sql")
		t.Run(name, func(t *testing.T) { upgradeFrom(t, bin, fixture) })
	}
}

// upgradeFrom loads one fixture, runs the binary on it and checks what it did.
func upgradeFrom(t *testing.T, bin, fixture string) {
	keyData, err := os.ReadFile(strings.TrimSuffix(fixture, ".sql") + ".key")
	if err != nil {
		t.Fatalf("the fixture's SECRET_KEY: %v", err)
	}
	key := strings.TrimSpace(string(keyData))
	sink := &upgradeSink{}
	ts := httptest.NewServer(sink)
	t.Cleanup(ts.Close)

	dbPath := filepath.Join(t.TempDir(), "upgrade.db")
	upgradeLoad(t, fixture, dbPath, ts.URL)
	db := openReadOnly(t, dbPath)
	defer db.Close()
	schedules, oldRuns := upgradeRead(t, db)
	oldMigrations := upgradeVersions(t, db)
	var maxOldID, lastOldAt int64
	byID := map[int64]*upgradeSchedule{}
	for _, s := range schedules {
		byID[s.id] = s
	}
	for _, r := range oldRuns {
		maxOldID = max(maxOldID, r.id)
		lastOldAt = max(lastOldAt, r.scheduledAt)
		byID[r.scheduleID].lastRunAt = max(byID[r.scheduleID].lastRunAt, r.scheduledAt)
	}
	t.Logf("fixture %s: %d schedules, %d runs, %d migrations, last run scheduled %s (%s ago)",
		filepath.Base(fixture), len(schedules), len(oldRuns), len(oldMigrations),
		time.UnixMilli(lastOldAt).UTC().Format(time.RFC3339), time.Since(time.UnixMilli(lastOldAt)).Round(time.Second))
	if len(oldRuns) == 0 {
		t.Fatal("the fixture has no runs")
	}

	started := time.Now()
	cmd, api, logs := startBinaryLogs(t, bin, []string{"SECRET_KEY=" + key, "SHUTDOWN_GRACE=5s"},
		"serve", "--port", "0", "--database-url", "sqlite:///"+dbPath)

	// Migrations: every one this tree has is applied.
	upgradeCheckMigrations(t, bin, dbPath, db, oldMigrations)

	// The schedules that go on firing: ACTIVE ones with an occurrence soon.
	var going []*upgradeSchedule
	for _, s := range schedules {
		if s.status != "ACTIVE" || s.timetable == nil {
			continue
		}
		if next := s.timetable.Next(started); !next.IsZero() && next.Before(started.Add(15*time.Second)) {
			going = append(going, s)
		}
	}
	if len(going) == 0 {
		t.Fatal("no schedule of the fixture fires after the upgrade")
	}
	// Wait for three finished runs after the upgrade of each.
	waitFor(t, 45*time.Second, "three runs of every ACTIVE schedule after the upgrade", func() bool {
		time.Sleep(500 * time.Millisecond)
		for _, s := range going {
			n := 0
			for _, r := range runsOf(t, api, s.id) {
				if r.ID > maxOldID && r.Status != "RUNNING" {
					n++
				}
			}
			if n < 3 {
				return false
			}
		}
		return true
	})

	// The old runs, through the API.
	upgradeCheckOldRuns(t, api, schedules, oldRuns, lastOldAt)
	// The schedules' states, through the API.
	for _, s := range schedules {
		var got struct {
			Status        string  `json:"status"`
			StoppedReason *string `json:"stopped_reason"`
			NextRunAt     *string `json:"next_run_at"`
			RunCount      int64   `json:"run_count"`
		}
		if code := call(t, "GET", fmt.Sprintf("%s/schedules/%d", api, s.id), nil, &got); code != 200 {
			t.Errorf("GET /schedules/%d: %d", s.id, code)
			continue
		}
		s.afterStatus, s.afterReason = got.Status, deref(got.StoppedReason)
		if s.status != "ACTIVE" && (got.Status != s.status || deref(got.StoppedReason) != upgradeOr(s.stoppedReason, "<nil>")) {
			t.Errorf("schedule %d %q was %s %q in the fixture, is %s %s after the upgrade",
				s.id, s.name, s.status, s.stoppedReason, got.Status, deref(got.StoppedReason))
		}
		if got.Status == "ACTIVE" && s.timetable != nil {
			next, err := time.Parse(time.RFC3339Nano, deref(got.NextRunAt))
			switch {
			case err != nil:
				t.Errorf("schedule %d %q: next_run_at %s: %v", s.id, s.name, deref(got.NextRunAt), err)
			case !upgradeOnGrid(s.timetable, next.UnixMilli()):
				t.Errorf("schedule %d %q: next_run_at %s is not an occurrence of its timetable", s.id, s.name, next.Format(time.RFC3339Nano))
			case next.Before(started):
				t.Errorf("schedule %d %q: next_run_at %s, before the upgrade (%s)", s.id, s.name, next.Format(time.RFC3339Nano), started.Format(time.RFC3339Nano))
			}
		}
	}

	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("the new binary's exit after SIGTERM: %v\n%s", err, logs)
	}

	// What the new binary wrote.
	after, allRuns := upgradeRead(t, db)
	for _, a := range after {
		if s := byID[a.id]; s != nil {
			s.afterRunCount = a.runCount
			s.missedStat, s.skippedStat = a.missedStat-s.missedStat, a.skippedStat-s.skippedStat
		}
	}
	newRuns := map[int64][]upgradeRun{}
	seen := map[[2]int64]int64{}
	for _, r := range allRuns {
		k := [2]int64{r.scheduleID, r.scheduledAt}
		if id, ok := seen[k]; ok {
			t.Errorf("schedule %d: runs %d and %d of the occurrence at %d", r.scheduleID, id, r.id, r.scheduledAt)
		}
		seen[k] = r.id
		if r.id > maxOldID {
			newRuns[r.scheduleID] = append(newRuns[r.scheduleID], r)
		}
	}
	var totalNew int
	var summary []string
	for _, s := range schedules {
		runs := newRuns[s.id]
		sort.Slice(runs, func(i, j int) bool { return runs[i].scheduledAt < runs[j].scheduledAt })
		s.runs = len(runs)
		totalNew += len(runs)
		if s.status != "ACTIVE" {
			if len(runs) > 0 {
				t.Errorf("schedule %d %q, %s in the fixture, ran %d times after the upgrade (first at %d)", s.id, s.name, s.status, len(runs), runs[0].scheduledAt)
			}
			if s.afterRunCount != s.runCount {
				t.Errorf("schedule %d %q, %s: run_count %d, was %d", s.id, s.name, s.status, s.afterRunCount, s.runCount)
			}
			continue
		}
		summary = append(summary, upgradeCheckContinued(t, s, runs, started))
	}
	t.Logf("after the upgrade: %d runs; %d schedules continued:\n  %s", totalNew, len(going), strings.Join(summary, "\n  "))

	upgradeCheckArrivals(t, sink.arrivals(), byID, allRuns, maxOldID)
}

// upgradeLoad makes a SQLite database at dbPath from the fixture's SQL and
// points its targets at sinkURL, keeping their paths.
func upgradeLoad(t *testing.T, fixture, dbPath, sinkURL string) {
	t.Helper()
	text, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(text)); err != nil {
		t.Fatalf("load %s: %v", fixture, err)
	}
	sink, err := url.Parse(sinkURL)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT id, url FROM targets`)
	if err != nil {
		t.Fatal(err)
	}
	urls := map[int64]string{}
	for rows.Next() {
		var id int64
		var u string
		if err := rows.Scan(&id, &u); err != nil {
			t.Fatal(err)
		}
		urls[id] = u
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for id, old := range urls {
		u, err := url.Parse(old)
		if err != nil {
			t.Fatalf("target %d: url %q: %v", id, old, err)
		}
		u.Scheme, u.Host = sink.Scheme, sink.Host
		if _, err := db.Exec(`UPDATE targets SET url = ? WHERE id = ?`, u.String(), id); err != nil {
			t.Fatal(err)
		}
	}
}

// upgradeRead reads the schedules, with their timetables and counters, and every run.
func upgradeRead(t *testing.T, db *sql.DB) ([]*upgradeSchedule, []upgradeRun) {
	t.Helper()
	rows, err := db.Query(`SELECT s.id, s.name, s.target_id, t.name, s.schedule_type, s.status, s.stopped_reason,
			s.interval_seconds, s.anchor_at, s.cron_expression, s.timezone, s.next_run_at, s.end_at,
			s.run_count, s.misfire_policy, s.catch_up_max, COALESCE(c.missed, 0), COALESCE(c.skipped_overlap, 0)
		FROM schedules s JOIN targets t ON t.id = s.target_id LEFT JOIN run_stats c ON c.scope = s.id
		ORDER BY s.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*upgradeSchedule
	for rows.Next() {
		s := &upgradeSchedule{}
		var interval int64
		if err := rows.Scan(&s.id, &s.name, &s.targetID, &s.target, &s.kind, &s.status, &s.stoppedReason,
			&interval, &s.anchorAt, &s.cron, &s.zone, &s.nextRunAt, &s.endAt,
			&s.runCount, &s.misfire, &s.catchUpMax, &s.missedStat, &s.skippedStat); err != nil {
			t.Fatal(err)
		}
		s.intervalMs = interval * 1000
		switch s.kind {
		case "INTERVAL", "WINDOW":
			g := apicron.IntervalGrid{Anchor: time.UnixMilli(s.anchorAt), Every: time.Duration(s.intervalMs) * time.Millisecond}
			if s.endAt.Valid {
				g.Until = time.UnixMilli(s.endAt.Int64)
			}
			s.timetable = g
		case "CRON":
			expr, err := apicron.ParseCron(s.cron)
			if err != nil {
				t.Fatalf("schedule %d: cron %q: %v", s.id, s.cron, err)
			}
			loc, err := time.LoadLocation(s.zone)
			if err != nil {
				t.Fatalf("schedule %d: zone %q: %v", s.id, s.zone, err)
			}
			s.timetable = apicron.CronTimetable{Expr: expr, Loc: loc}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rrows, err := db.Query(`SELECT id, schedule_id, scheduled_at, started_at, missed, status, run_trigger FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rrows.Close()
	var runs []upgradeRun
	for rrows.Next() {
		var r upgradeRun
		if err := rrows.Scan(&r.id, &r.scheduleID, &r.scheduledAt, &r.startedAt, &r.missed, &r.status, &r.trigger); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if err := rrows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, runs
}

// upgradeVersions returns the migration versions the database records.
func upgradeVersions(t *testing.T, db *sql.DB) map[int64]bool {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out[v] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// upgradeCheckMigrations checks that every migration of this tree is
// recorded and that apicron migrate status says none is pending.
func upgradeCheckMigrations(t *testing.T, bin, dbPath string, db *sql.DB, before map[int64]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "internal", "store", "migrations", "sqlite", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("this tree's migrations: %v", err)
	}
	applied := upgradeVersions(t, db)
	var added []string
	for _, f := range files {
		base := filepath.Base(f)
		v, err := strconv.ParseInt(strings.SplitN(base, "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", base, err)
		}
		if !applied[v] {
			t.Errorf("migration %s is not recorded in schema_migrations after the upgrade", base)
		}
		if !before[v] {
			added = append(added, base)
		}
	}
	out, err := exec.Command(bin, "migrate", "status", "--database-url", "sqlite:///"+dbPath).CombinedOutput()
	if err != nil {
		t.Errorf("apicron migrate status: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%d migrations: %d applied, 0 pending", len(files), len(files))
	if !strings.Contains(string(out), want) {
		t.Errorf("apicron migrate status does not say %q:\n%s", want, out)
	}
	t.Logf("migrations: %d in this tree, %d applied by the upgrade (%s)", len(files), len(added), strings.Join(added, ", "))
}

// upgradeCheckOldRuns checks that every run of the fixture reads back
// through GET /runs, as it was: per schedule, and in the range of the
// fixture's runs.
func upgradeCheckOldRuns(t *testing.T, api string, schedules []*upgradeSchedule, old []upgradeRun, lastOldAt int64) {
	t.Helper()
	want := map[int64]upgradeRun{}
	for _, r := range old {
		want[r.id] = r
	}
	check := func(what string, got []runJSON, of func(upgradeRun) bool) {
		t.Helper()
		found := map[int64]bool{}
		for _, g := range got {
			w, ok := want[g.ID]
			if !ok {
				continue
			}
			found[g.ID] = true
			at, err := time.Parse(time.RFC3339Nano, g.ScheduledAt)
			if err != nil || at.UnixMilli() != w.scheduledAt || g.ScheduleID != w.scheduleID || g.Status != w.status ||
				g.Missed != w.missed || g.Trigger != w.trigger {
				t.Errorf("%s: run %d reads %+v, the fixture has %+v", what, g.ID, g, w)
			}
		}
		for _, w := range old {
			if of(w) && !found[w.id] {
				t.Errorf("%s: the fixture's run %d (schedule %d, %s) is missing", what, w.id, w.scheduleID, w.status)
			}
		}
	}
	for _, s := range schedules {
		check(fmt.Sprintf("GET /runs?schedule_id=%d", s.id), runsOf(t, api, s.id), func(r upgradeRun) bool { return r.scheduleID == s.id })
	}
	var inRange []runJSON
	until := time.UnixMilli(lastOldAt + 1).UTC().Format(time.RFC3339Nano)
	if code := call(t, "GET", api+"/runs?limit=1000&until="+until, nil, &inRange); code != 200 {
		t.Errorf("GET /runs?until=%s: %d", until, code)
	}
	check("GET /runs?until=", inRange, func(upgradeRun) bool { return true })
	// One run of each status in full.
	statuses := map[string]bool{}
	for _, r := range old {
		if statuses[r.status] {
			continue
		}
		statuses[r.status] = true
		var got struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		if code := call(t, "GET", fmt.Sprintf("%s/runs/%d", api, r.id), nil, &got); code != 200 || got.ID != r.id || got.Status != r.status {
			t.Errorf("GET /runs/%d: %d %+v, want the fixture's %s run", r.id, code, got, r.status)
		}
	}
}

// upgradeCheckContinued checks an ACTIVE schedule's runs after the upgrade
// and returns a line of figures about them.
func upgradeCheckContinued(t *testing.T, s *upgradeSchedule, runs []upgradeRun, started time.Time) string {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("schedule %d %q (%s, misfire %s): %s", s.id, s.name, s.kind, s.misfire, fmt.Sprintf(format, args...))
	}
	tt := s.timetable
	if tt == nil || !s.nextRunAt.Valid {
		errorf("ACTIVE in the fixture without a timetable or next_run_at")
		return s.name
	}
	oldNext := time.UnixMilli(s.nextRunAt.Int64)
	due := tt.Count(oldNext, started) // occurrences that came due while no apicron ran
	if len(runs) == 0 {
		if next := tt.Next(started.Add(-time.Millisecond)); !next.IsZero() && next.Before(started.Add(15*time.Second)) || due > 0 && s.misfire != "skip" {
			errorf("no run after the upgrade (%d occurrences came due while down)", due)
		}
		return fmt.Sprintf("%s: no run, %d due while down, now %s %s", s.name, due, s.afterStatus, s.afterReason)
	}
	// The new binary's first claim of the schedule: the occurrences due
	// before it came due while no apicron ran.
	claim := runs[0].startedAt
	for _, r := range runs {
		claim = min(claim, r.startedAt)
	}
	claimAt := time.UnixMilli(claim)
	due = tt.Count(oldNext, claimAt.Add(time.Millisecond))
	var backlog []upgradeRun // runs of occurrences due at the first claim
	for _, r := range runs {
		if !upgradeOnGrid(tt, r.scheduledAt) {
			errorf("run %d at %s is not an occurrence of its timetable", r.id, upgradeAt(r.scheduledAt))
		}
		if r.scheduledAt < oldNext.UnixMilli() || r.scheduledAt <= s.lastRunAt {
			errorf("run %d at %s: an occurrence before the fixture's next_run_at %s (its last run %s)",
				r.id, upgradeAt(r.scheduledAt), upgradeAt(oldNext.UnixMilli()), upgradeAt(s.lastRunAt))
		}
		if r.scheduledAt <= claim {
			backlog = append(backlog, r)
		}
		if r.status == "RUNNING" {
			errorf("run %d left RUNNING after SIGTERM", r.id)
		}
	}
	// Every occurrence from the fixture's next_run_at to the last run is one
	// of: a run, a missed one, an overlap skip.
	last := runs[len(runs)-1].scheduledAt
	span := tt.Count(oldNext, time.UnixMilli(last+1))
	if got := int64(len(runs)) + s.missedStat + s.skippedStat; got != span {
		errorf("%d runs + %d missed + %d skipped as overlapping since the upgrade, but %d occurrences from %s to %s",
			len(runs), s.missedStat, s.skippedStat, span, upgradeAt(oldNext.UnixMilli()), upgradeAt(last))
	}
	first := runs[0]
	switch s.misfire {
	case "coalesce":
		// One run, of the latest occurrence due, for all that came due
		// while down, the others its missed; then the grid again.
		if due > 0 {
			// The claim came after the binary started and before the first
			// request began (claimAt, which is only an upper bound: the
			// result's write sets started_at to when the request began, and
			// under load a request may leave a while after its claim).
			earliest, latest := tt.Last(started), tt.Last(claimAt)
			if first.scheduledAt < earliest.UnixMilli() || first.scheduledAt > latest.UnixMilli() {
				errorf("first run after the upgrade at %s, want the latest occurrence due at its claim, between %s (due at the start, %s) and %s (due at its request, %s)",
					upgradeAt(first.scheduledAt), upgradeAt(earliest.UnixMilli()), upgradeAt(started.UnixMilli()),
					upgradeAt(latest.UnixMilli()), upgradeAt(claim))
			}
			if want := tt.Count(oldNext, time.UnixMilli(first.scheduledAt)); first.missed != want {
				errorf("first run after the upgrade (at %s) counts missed %d, want %d: the occurrences from %s",
					upgradeAt(first.scheduledAt), first.missed, want, upgradeAt(oldNext.UnixMilli()))
			}
			var beforeStart int
			for _, r := range runs {
				if r.scheduledAt <= started.UnixMilli() {
					beforeStart++
				}
			}
			if beforeStart > 1 {
				errorf("%d runs of the %d occurrences due while down, want 1 (coalesced)", beforeStart, due)
			}
		}
	case "skip":
		// None of those that came due while down runs: all are missed.
		grace := apicron.DefaultSkipGrace
		for _, r := range backlog {
			if r.scheduledAt < claimAt.Add(-grace).UnixMilli() {
				errorf("run %d of an occurrence due while down (%s), past its grace", r.id, upgradeAt(r.scheduledAt))
			}
		}
		if want := due - int64(len(backlog)); due > 0 && s.missedStat < want {
			errorf("%d occurrences due while down, %d run, %d counted missed", due, len(backlog), s.missedStat)
		}
	case "catch_up":
		// The newest catch_up_max of them run, one after another; the others are missed.
		n := int64(apicron.DefaultCatchUpMax)
		if s.catchUpMax.Valid {
			n = s.catchUpMax.Int64
		}
		want := min(n, due)
		if int64(len(backlog)) != want {
			var at []string
			for _, r := range backlog {
				at = append(at, upgradeAt(r.scheduledAt)+" "+r.trigger)
			}
			errorf("%d runs (%s) of the %d occurrences due at its first claim (%s), want %d (catch_up_max %d); %d counted missed, %d skipped as overlapping",
				len(backlog), strings.Join(at, ", "), due, upgradeAt(claim), want, n, s.missedStat, s.skippedStat)
		}
		if len(backlog) > 0 && backlog[0].missed != due-want {
			errorf("the first catch-up run counts missed %d, want %d", backlog[0].missed, due-want)
		}
	}
	if s.afterRunCount != s.runCount+int64(len(runs)) {
		errorf("run_count %d after %d runs since the upgrade, was %d", s.afterRunCount, len(runs), s.runCount)
	}
	if s.endAt.Valid && s.endAt.Int64 <= started.UnixMilli() && (s.afterStatus != "STOPPED" || s.afterReason != "end_at_reached") {
		errorf("end_at %s passed while down: %s %s, want STOPPED end_at_reached", upgradeAt(s.endAt.Int64), s.afterStatus, s.afterReason)
	}
	return fmt.Sprintf("%s (%s, %s): %d due while down; %d runs since (%d of them due while down), first at %s missed %d; %d missed and %d skipped counted; now %s %s",
		s.name, s.kind, s.misfire, due, len(runs), len(backlog), upgradeAt(first.scheduledAt), first.missed, s.missedStat, s.skippedStat, s.afterStatus, s.afterReason)
}

// upgradeCheckArrivals checks what the sink received: each request is a
// run of the new binary, sent once, with its target's secrets.
func upgradeCheckArrivals(t *testing.T, got []upgradeArrival, byID map[int64]*upgradeSchedule, runs []upgradeRun, maxOldID int64) {
	t.Helper()
	runByID := map[int64]upgradeRun{}
	for _, r := range runs {
		runByID[r.id] = r
	}
	perTarget := map[string]int{}
	occurrences := map[string]int{}
	for _, a := range got {
		h := a.header
		runID, _ := strconv.ParseInt(h.Get("X-Apicron-Run-Id"), 10, 64)
		r, ok := runByID[runID]
		if !ok || runID <= maxOldID {
			t.Errorf("a request to %s of run %q, not a run of the new binary", a.path, h.Get("X-Apicron-Run-Id"))
			continue
		}
		s := byID[r.scheduleID]
		occ := h.Get("X-Apicron-Schedule-Id") + "@" + h.Get("X-Apicron-Scheduled-At")
		if occurrences[occ]++; occurrences[occ] == 2 {
			t.Errorf("the occurrence %s arrived twice", occ)
		}
		if s.status != "ACTIVE" {
			t.Errorf("a request of schedule %d %q, %s in the fixture", s.id, s.name, s.status)
		}
		perTarget[s.target]++
		for name, want := range upgradeSecrets[s.target] {
			if v := h.Get(name); v != want {
				t.Errorf("run %d of target %s: header %s = %q, want %q", runID, s.target, name, v, want)
			}
		}
		if s.target == "fixture-ok" {
			if err := upgradeVerifySignature(h); err != nil {
				t.Errorf("run %d of target %s: %v", runID, s.target, err)
			}
		}
	}
	for name := range upgradeSecrets {
		if perTarget[name] == 0 {
			t.Errorf("target %s received no request after the upgrade", name)
		}
	}
	t.Logf("requests at the sink: %d (%v), %d occurrences", len(got), perTarget, len(occurrences))
}

// upgradeVerifySignature checks a request's Standard Webhooks signature
// (of an empty body) against upgradeSigningSecret.
func upgradeVerifySignature(h http.Header) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(upgradeSigningSecret, "whsec_"))
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.Get("Webhook-Id") + "." + h.Get("Webhook-Timestamp") + "."))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(h.Get("Webhook-Signature")) {
		if sig == want {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q (webhook-id %q, timestamp %q) is not signed with the fixture's signing secret",
		h.Get("Webhook-Signature"), h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"))
}

// upgradeOnGrid says whether ms is an occurrence of tt.
func upgradeOnGrid(tt apicron.Timetable, ms int64) bool {
	at := time.UnixMilli(ms)
	return tt.Next(at.Add(-time.Millisecond)).Equal(at)
}

func upgradeAt(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") }

func upgradeOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
