package histcheck_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/histcheck"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the file read-only
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// history is a run history made by the real store and executor: a sink
// behind histcheck.Record, schedules claimed on a fake clock, their jobs
// sent to the sink and their results finished.
type history struct {
	t      *testing.T
	driver string
	dsn    string
	db     *store.DB
	clock  *storetest.Clock
	exec   *executor.Executor
	log    *histcheck.Log
	target *apicron.Target
	// every is INTERVAL 10 s, cron "* * * * *", paused INTERVAL 10 s
	// paused from +5 s to +35 s.
	every, cron, paused *apicron.Schedule
	// ok is a run of every at +80 s, answered and received, with runs of
	// the grid before and after it.
	ok *apicron.Job
	// cronMid is cron's run at +60 s, between two others.
	cronMid *apicron.Job

	mu        sync.Mutex
	failFirst map[string]bool // run ids whose first attempt the sink answers 500
}

// newHistory builds the history every test starts from: on schedule
// every, runs, a retried run, an overlap skip, a run not sent
// (host_limit), a timeout, two coalesced occurrences, a run sent and then
// interrupted, a manual run; on cron, runs and a coalesced occurrence; on
// paused, runs around a pause.
func newHistory(t *testing.T, driver string) *history {
	t.Helper()
	h := &history{t: t, driver: driver, clock: storetest.NewClock(t0), log: histcheck.NewLog(nil), failFirst: map[string]bool{}}
	sink := httptest.NewServer(histcheck.Record(h.log, http.HandlerFunc(h.answer)))
	t.Cleanup(sink.Close)
	h.dsn = storetest.NewDSN(t, driver)
	h.db = storetest.OpenDSN(t, driver, h.dsn, store.Config{Clock: h.clock})
	h.exec = executor.New(executor.Config{Now: h.clock.Now, MaxRetries: 1, DefaultTimeout: 5 * time.Second,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	h.target = &apicron.Target{Name: "sink", URL: sink.URL + "/hook"}
	if err := h.db.CreateTarget(t.Context(), h.target); err != nil {
		t.Fatalf("create target: %v", err)
	}
	h.every = h.schedule(&apicron.Schedule{Name: "every", Type: apicron.Interval, IntervalSeconds: 10})
	h.cron = h.schedule(&apicron.Schedule{Name: "cron", Type: apicron.Cron, CronExpression: "* * * * *", Timezone: "UTC"})
	h.paused = h.schedule(&apicron.Schedule{Name: "paused", Type: apicron.Interval, IntervalSeconds: 10})

	h.send(h.claim(0, h.every))
	h.send(h.claim(0, h.cron))
	h.send(h.claim(0, h.paused))
	h.pause(5 * time.Second)

	retried := h.claim(10*time.Second, h.every)
	h.failFirst[strconv.FormatInt(retried.RunID, 10)] = true
	res := h.execute(retried)                            // retried before its next occurrence, recorded after it
	if j := h.claim(20*time.Second, h.every); j != nil { // retried is in flight: an overlap skip
		t.Fatalf("claim at +20 s fired run %d beside a run in flight", j.RunID)
	}
	h.record(res)
	h.finish(h.claim(30*time.Second, h.every), apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHostLimit,
		ErrorMessage: "not sent: no host slot until the next occurrence"}, false)
	h.resume(35 * time.Second)
	h.send(h.claim(40*time.Second, h.paused))
	latency := 5000.0
	h.finish(h.claim(65*time.Second, h.every), apicron.Outcome{Status: apicron.Timeout, ErrorType: apicron.ErrTimeout, // +60 s, 40 and 50 coalesced
		ErrorMessage: "timed out", LatencyMs: &latency}, true)
	h.cronMid = h.claim(65*time.Second, h.cron)
	h.send(h.cronMid)
	h.interrupted(h.claim(70*time.Second, h.every))
	h.ok = h.claim(80*time.Second, h.every)
	h.send(h.ok)
	h.clock.Set(t0.Add(85 * time.Second))
	manual, err := h.db.TriggerRun(t.Context(), h.every.ID, false)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	h.send(manual)
	h.send(h.claim(90*time.Second, h.every))
	h.send(h.claim(190*time.Second, h.cron)) // +180 s, +120 s coalesced
	return h
}

// answer is the sink: 200, or 500 to the first attempt of a run in failFirst.
func (h *history) answer(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	fail := h.failFirst[r.Header.Get(histcheck.HeaderRunID)] && r.Header.Get(histcheck.HeaderAttempt) == "1"
	h.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *history) schedule(s *apicron.Schedule) *apicron.Schedule {
	h.t.Helper()
	s.TargetID = h.target.ID
	if err := h.db.CreateSchedule(h.t.Context(), s); err != nil {
		h.t.Fatalf("create schedule %s: %v", s.Name, err)
	}
	return s
}

// claim claims s at t0+at and returns its job (nil: none fired).
func (h *history) claim(at time.Duration, s *apicron.Schedule) *apicron.Job {
	h.t.Helper()
	now := h.clock.Add(0)
	if t := t0.Add(at); t.After(now) {
		now = t
		h.clock.Set(t)
	}
	res, err := h.db.Claim(h.t.Context(), now, now, []int64{s.ID}, nil)
	if err != nil || len(res) != 1 {
		h.t.Fatalf("claim schedule %d at %v: %v %v", s.ID, now, res, err)
	}
	return res[0].Job
}

// send executes job against the sink, as the engine does, and records its result.
func (h *history) send(job *apicron.Job) {
	h.t.Helper()
	if job == nil {
		h.t.Fatal("no job to send")
	}
	h.record(h.execute(job))
}

// execute sends job's requests; the run must succeed.
func (h *history) execute(job *apicron.Job) apicron.RunResult {
	h.t.Helper()
	res := h.exec.Execute(h.t.Context(), job)
	if res.Status != apicron.Success {
		h.t.Fatalf("run %d: %s %s %s", job.RunID, res.Status, res.ErrorType, res.ErrorMessage)
	}
	return res
}

// record finishes a run with its result.
func (h *history) record(res apicron.RunResult) {
	h.t.Helper()
	if err := h.db.Finish(h.t.Context(), []apicron.RunResult{res}); err != nil {
		h.t.Fatalf("finish run %d: %v", res.RunID, err)
	}
}

// finish records o as job's result without sending anything: what the
// engine records for a run it did not send (attempt false), or for an
// attempt whose request the sink never saw.
func (h *history) finish(job *apicron.Job, o apicron.Outcome, attempt bool) {
	h.t.Helper()
	now := h.clock.Now()
	res := apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now, Outcome: o}
	if attempt {
		res.Attempts = []apicron.Attempt{{RunID: job.RunID, Number: 1, StartedAt: now, FinishedAt: now, Outcome: o}}
	}
	if err := h.db.Finish(h.t.Context(), []apicron.RunResult{res}); err != nil {
		h.t.Fatalf("finish run %d: %v", job.RunID, err)
	}
}

// interrupted sends job's request and then interrupts the run before its
// result is recorded, as a process killed mid-request leaves it.
func (h *history) interrupted(job *apicron.Job) {
	h.t.Helper()
	h.exec.Execute(h.t.Context(), job)
	if n, err := h.db.InterruptRunning(h.t.Context(), h.clock.Now(), "killed"); err != nil || n != 1 {
		h.t.Fatalf("interrupt: %d runs, %v", n, err)
	}
}

func (h *history) pause(at time.Duration) {
	h.t.Helper()
	h.clock.Set(t0.Add(at))
	if _, err := h.db.PauseSchedule(h.t.Context(), h.paused.ID, apicron.PauseRequest{Reason: "maintenance"}); err != nil {
		h.t.Fatalf("pause: %v", err)
	}
}

func (h *history) resume(at time.Duration) {
	h.t.Helper()
	h.clock.Set(t0.Add(at))
	if _, err := h.db.ResumeSchedule(h.t.Context(), h.paused.ID); err != nil {
		h.t.Fatalf("resume: %v", err)
	}
}

// tamper runs a statement on the database beside the store, to break the
// history on purpose.
func (h *history) tamper(q string, args ...any) {
	h.t.Helper()
	db := h.open(true)
	defer db.Close()
	if h.driver == "postgres" {
		q = pgRebind(q)
	}
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
}

// open opens the database as a checking tool does: SQLite read-only
// unless write, PostgreSQL through the schema's URL.
func (h *history) open(write bool) *sql.DB {
	h.t.Helper()
	name, dsn := "pgx", h.dsn
	if h.driver == "sqlite" {
		name, dsn = "sqlite", "file:"+h.dsn+"?_pragma=busy_timeout(10000)"
		if !write {
			dsn += "&mode=ro"
		}
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		h.t.Fatal(err)
	}
	return db
}

// check runs histcheck.Check on the database and reqs.
func (h *history) check(reqs []histcheck.Request) *histcheck.Report {
	h.t.Helper()
	db := h.open(false)
	defer db.Close()
	driver := h.driver
	if driver == "postgres" {
		driver = "pgx"
	}
	rep, err := histcheck.Check(h.t.Context(), db, driver, reqs, histcheck.Options{Targets: []int64{h.target.ID}})
	if err != nil {
		h.t.Fatalf("check: %v", err)
	}
	h.t.Log(rep)
	return rep
}

// without returns the log's requests but those of run id.
func (h *history) without(id int64) []histcheck.Request {
	var out []histcheck.Request
	for _, r := range h.log.Requests() {
		if r.RunID != id {
			out = append(out, r)
		}
	}
	return out
}

func pgRebind(q string) string {
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, '$')
			out = strconv.AppendInt(out, int64(n), 10)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
