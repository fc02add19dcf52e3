package scheduler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// execFunc is an executor made of a function; the engine's tests control
// when and how a run ends.
type execFunc func(ctx context.Context, job *apicron.Job) apicron.RunResult

func (f execFunc) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	return f(ctx, job)
}

func succeed(clock apicron.Clock) execFunc {
	return func(ctx context.Context, job *apicron.Job) apicron.RunResult {
		lat := 1.0
		now := clock.Now()
		out := apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}
		return apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now, Outcome: out,
			Attempts: []apicron.Attempt{{RunID: job.RunID, Number: 1, StartedAt: now, FinishedAt: now, Outcome: out}}}
	}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	db    *store.DB
	clock *storetest.Clock
	s     *scheduler.Scheduler
	ctx   context.Context
}

func newHarness(t *testing.T, driver string, exec apicron.Executor, maxConcurrent int) *harness {
	t.Helper()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, driver, clock)
	if exec == nil {
		exec = succeed(clock)
	}
	s := scheduler.New(scheduler.Config{Store: db, Executor: exec, Clock: clock, MaxConcurrent: maxConcurrent})
	h := &harness{t: t, db: db, clock: clock, s: s, ctx: context.Background()}
	if err := s.Load(h.ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// schedule creates s, on a target of its own, and tells the engine.
func (h *harness) schedule(s *apicron.Schedule) *apicron.Schedule {
	h.t.Helper()
	mustSchedule(h.t, h.db, "http://127.0.0.1:9/", s)
	h.s.Changed(s.ID)
	return s
}

// mustSchedule creates s (named "s" unless named) on a new target that
// calls url, and returns it.
func mustSchedule(t testing.TB, db *store.DB, url string, s *apicron.Schedule) *apicron.Schedule {
	t.Helper()
	tg := &apicron.Target{Name: "t", URL: url}
	if err := db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	s.TargetID = tg.ID
	if s.Name == "" {
		s.Name = "s"
	}
	if err := db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// at steps the engine at t0+d and waits for what it dispatched.
func (h *harness) at(d time.Duration) time.Duration {
	h.t.Helper()
	h.clock.Set(t0.Add(d))
	wait := h.s.Step(h.ctx, t0.Add(d))
	if err := h.s.Wait(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	return wait
}

func (h *harness) runs(id int64) []*apicron.Run {
	h.t.Helper()
	runs, _, err := h.db.FindRuns(h.ctx, apicron.RunFilter{ScheduleID: &id, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	// oldest first
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func scheduledOffsets(runs []*apicron.Run) []time.Duration {
	var out []time.Duration
	for _, r := range runs {
		out = append(out, r.ScheduledAt.Sub(t0))
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// allRuns returns every run in db, newest first.
func allRuns(t testing.TB, db *store.DB) []*apicron.Run {
	t.Helper()
	runs, _, err := db.FindRuns(context.Background(), apicron.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// statuses lists the runs' statuses, for failure messages.
func statuses(runs []*apicron.Run) []apicron.RunStatus {
	var out []apicron.RunStatus
	for _, r := range runs {
		out = append(out, r.Status)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// refusingEngine is the real store whose claims or result writes fail on
// demand, as they do when the disk is full or the database is locked.
type refusingEngine struct {
	*store.DB
	claims, finishes atomic.Bool
}

var errRefused = apicron.Errorf(apicron.EUNAVAILABLE, "database unavailable: the database or disk is full (SQLITE_FULL)")

func (e *refusingEngine) Claim(ctx context.Context, now, until time.Time, ids []int64, inflight func(int64) int) ([]apicron.ClaimResult, error) {
	if e.claims.Load() {
		return nil, errRefused
	}
	return e.DB.Claim(ctx, now, until, ids, inflight)
}

func (e *refusingEngine) Finish(ctx context.Context, results []apicron.RunResult) error {
	if e.finishes.Load() {
		return errRefused
	}
	return e.DB.Finish(ctx, results)
}

// stallingEngine is the real store whose first result write hangs until
// its context ends, as a write does behind a lock or on a database that
// stopped answering; entered is closed when it starts hanging.
type stallingEngine struct {
	*store.DB
	stalled atomic.Bool
	entered chan struct{}
}

func newStallingEngine(db *store.DB) *stallingEngine {
	return &stallingEngine{DB: db, entered: make(chan struct{})}
}

func (e *stallingEngine) Finish(ctx context.Context, results []apicron.RunResult) error {
	if e.stalled.CompareAndSwap(false, true) {
		close(e.entered)
		<-ctx.Done()
		return ctx.Err()
	}
	return e.DB.Finish(ctx, results)
}

// running is a Scheduler's Run under way in a test.
type running struct {
	t      *testing.T
	cancel context.CancelFunc // ends Run's context
	done   chan error
	once   sync.Once
}

// startRun calls s.Run in a goroutine; the test's end stops it.
func startRun(t *testing.T, s *scheduler.Scheduler) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// wait fails the test unless Run returns within 20 s, without error.
func (r *running) wait() {
	r.t.Helper()
	r.once.Do(func() {
		select {
		case err := <-r.done:
			if err != nil {
				r.t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			r.t.Fatal("Run did not return within 20 s of its context ending")
		}
	})
}

// stop ends Run's context and waits for Run to return.
func (r *running) stop() {
	r.t.Helper()
	r.cancel()
	r.wait()
}

// waitFor fails the test unless ch is closed within 10 s.
func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// outliving records whether a call of a store method that started before
// Run's context ended was still under way when Run returned: each call that
// sees its context end lingers a moment before returning, as a connection's
// teardown does, so a Run that does not wait for its goroutines returns
// first.
type outliving struct {
	entered  chan struct{} // closed at the first call
	once     sync.Once
	calls    sync.WaitGroup
	runDone  chan struct{} // closed by the test when Run has returned
	outlived atomic.Bool
}

func newOutliving() *outliving {
	return &outliving{entered: make(chan struct{}), runDone: make(chan struct{})}
}

// call runs fn, a store call under ctx, and when ctx ends lingers up to
// 300 ms, noting whether Run returned meanwhile.
func (o *outliving) call(ctx context.Context, fn func()) {
	o.calls.Add(1)
	defer o.calls.Done()
	o.once.Do(func() { close(o.entered) })
	fn()
	if ctx.Err() == nil {
		return
	}
	select {
	case <-o.runDone:
		o.outlived.Store(true)
	case <-time.After(300 * time.Millisecond):
	}
}

// check, called when Run has returned, fails the test if a call was still
// under way then.
func (o *outliving) check(t testing.TB, what string) {
	t.Helper()
	close(o.runDone)
	o.calls.Wait()
	if o.outlived.Load() {
		t.Errorf("%s was still running when Run returned", what)
	}
}

// watchedPruner is the real store whose prune calls block until their
// context ends; every call is watched.
type watchedPruner struct {
	*store.DB
	o *outliving
}

func (p *watchedPruner) PruneKeptRuns(ctx context.Context, keepDefault, limit int) (n int64, err error) {
	p.o.call(ctx, func() {
		<-ctx.Done()
		n, err = 0, ctx.Err()
	})
	return n, err
}

// watchedListener is the real shared store whose notification listener is watched.
type watchedListener struct {
	*store.DB
	o *outliving
}

func (l *watchedListener) Listen(ctx context.Context, fn func(channel, payload string)) {
	l.o.call(ctx, func() { l.DB.Listen(ctx, fn) })
}

// hangingEngine is the real store whose result writes hang until their
// context ends, as on a database that stopped answering.
type hangingEngine struct {
	*store.DB
	finishes atomic.Int64
}

func (e *hangingEngine) Finish(ctx context.Context, results []apicron.RunResult) error {
	e.finishes.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// logBuffer collects an engine's log as JSON lines, for tests that check
// what the engine says.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the log so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger returns a logger that writes into b, at every level.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the records logged at level with message msg.
func (b *logBuffer) lines(t testing.TB, level slog.Level, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber() // numbers as logged: 60000000000, not 6e+10
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec[slog.LevelKey] == level.String() && rec[slog.MessageKey] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// want fails the test unless exactly one record at level says msg, with
// each of the given key, value pairs (compared as printed; a duration is
// logged as its nanoseconds).
func (b *logBuffer) want(t testing.TB, level slog.Level, msg string, kv ...any) map[string]any {
	t.Helper()
	recs := b.lines(t, level, msg)
	if len(recs) != 1 {
		t.Fatalf("%d %s lines %q, want 1; the log:\n%s", len(recs), level, msg, b.String())
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		want := kv[i+1]
		if d, ok := want.(time.Duration); ok {
			want = int64(d)
		}
		if got := fmt.Sprint(recs[0][k]); got != fmt.Sprint(want) {
			t.Errorf("%s %q: %s = %s, want %v", level, msg, k, got, want)
		}
	}
	return recs[0]
}

// await fails the test unless a record at level says msg within 10 s.
func (b *logBuffer) await(t testing.TB, level slog.Level, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(b.lines(t, level, msg)) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s line %q within 10 s; the log:\n%s", level, msg, b.String())
		}
	}
}

// gatedExecutor succeeds each job once release is closed; a job cut off
// (its context ended) returns at once.
type gatedExecutor struct {
	clock   apicron.Clock
	release chan struct{}
	started chan struct{} // a value per job started
}

func newGatedExecutor(clock apicron.Clock) *gatedExecutor {
	return &gatedExecutor{clock: clock, release: make(chan struct{}), started: make(chan struct{}, 1000)}
}

func (e *gatedExecutor) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	e.started <- struct{}{}
	select {
	case <-e.release:
	case <-ctx.Done():
	}
	return succeed(e.clock)(ctx, job)
}

// awaitStarted fails the test unless n jobs start within 10 s.
func (e *gatedExecutor) awaitStarted(t testing.TB, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-e.started:
		case <-timeout:
			t.Fatalf("fewer than %d jobs started within 10 s", n)
		}
	}
}

// occurrence names a schedule's occurrence: its id and scheduled time.
func occurrence(scheduleID int64, at time.Time) string {
	return fmt.Sprintf("%d@%d", scheduleID, at.UnixMilli())
}

// countingTarget is a real HTTP target that counts the requests it gets per
// occurrence (X-Occurrence) and per node (X-Node).
type countingTarget struct {
	*httptest.Server
	mu     sync.Mutex
	byOcc  map[string]int
	byNode map[string]int
	latest map[string]time.Time // node -> latest scheduled time it ran
}

func newCountingTarget(t testing.TB) *countingTarget {
	ct := &countingTarget{byOcc: map[string]int{}, byNode: map[string]int{}, latest: map[string]time.Time{}}
	ct.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := strconv.ParseInt(r.Header.Get("X-Scheduled-At"), 10, 64)
		ct.mu.Lock()
		ct.byOcc[r.Header.Get("X-Occurrence")]++
		node := r.Header.Get("X-Node")
		ct.byNode[node]++
		if t := time.UnixMilli(at); t.After(ct.latest[node]) {
			ct.latest[node] = t
		}
		ct.mu.Unlock()
	}))
	t.Cleanup(ct.Close)
	return ct
}

// requests returns how many requests node sent (all nodes for "").
func (ct *countingTarget) requests(node string) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if node != "" {
		return ct.byNode[node]
	}
	n := 0
	for _, c := range ct.byNode {
		n += c
	}
	return n
}

// ranAfter reports whether node ran an occurrence scheduled after at.
func (ct *countingTarget) ranAfter(node string, at time.Time) bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.latest[node].After(at)
}

// exactlyOnce fails the test unless every SUCCESS run in db was requested
// exactly once and no other occurrence was requested at all.
func (ct *countingTarget) exactlyOnce(t testing.TB, db *store.DB) {
	t.Helper()
	ct.mu.Lock()
	defer ct.mu.Unlock()
	succeeded := map[string]bool{}
	for _, r := range allRuns(t, db) {
		if r.Status == apicron.Success {
			succeeded[occurrence(r.ScheduleID, r.ScheduledAt)] = true
		}
	}
	for occ, n := range ct.byOcc {
		if n != 1 || !succeeded[occ] {
			t.Errorf("occurrence %s requested %d times (a SUCCESS run: %v), want once", occ, n, succeeded[occ])
		}
	}
	for occ := range succeeded {
		if ct.byOcc[occ] == 0 {
			t.Errorf("run of occurrence %s is SUCCESS but was never requested", occ)
		}
	}
}

// httpExecutor sends each job's request, as node, naming the occurrence in
// headers, and reports SUCCESS when it is answered.
type httpExecutor struct {
	node string
}

func (e httpExecutor) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	fail := func(err error) apicron.RunResult {
		now := time.Now()
		out := apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrOther, ErrorMessage: err.Error()}
		return apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now, Outcome: out,
			Attempts: []apicron.Attempt{{RunID: job.RunID, Number: 1, StartedAt: now, FinishedAt: now, Outcome: out}}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, job.URL, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("X-Node", e.node)
	req.Header.Set("X-Occurrence", occurrence(job.ScheduleID, job.ScheduledAt))
	req.Header.Set("X-Scheduled-At", strconv.FormatInt(job.ScheduledAt.UnixMilli(), 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(err)
	}
	resp.Body.Close()
	return succeed(apicron.SystemClock{})(ctx, job)
}

// node is one engine of a cluster test, on its own store of the shared database.
type node struct {
	id  string
	db  *store.DB
	s   *scheduler.Scheduler
	run *running
}

// startNode runs an engine as node id on eng, a store of the shared database.
func startNode(t *testing.T, id string, db *store.DB, eng apicron.Engine) *node {
	t.Helper()
	return startNodeTTL(t, id, db, eng, time.Second)
}

// startNodeTTL is startNode with a LeaseTTL of ttl: heartbeats every ttl/5,
// and a node counted alive for ttl after its last.
func startNodeTTL(t *testing.T, id string, db *store.DB, eng apicron.Engine, ttl time.Duration) *node {
	t.Helper()
	s := scheduler.New(scheduler.Config{Store: eng, Executor: httpExecutor{node: id}, LeaseTTL: ttl,
		ShutdownGrace: 5 * time.Second})
	return &node{id: id, db: db, s: s, run: startRun(t, s)}
}

// role returns the node's role as Health reports it, and the lease epoch.
func (n *node) role(t testing.TB) (string, int64) {
	t.Helper()
	h, err := n.s.Health(context.Background())
	if err != nil {
		t.Fatalf("node %s health: %v", n.id, err)
	}
	return h.Role, h.LeaseEpoch
}

// eventually fails the test unless cond holds within 10 s, polling every 10 ms.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// idleTaker is the real shared store of a node that takes no claimed runs,
// as one whose every slot is busy: whatever it claims, other nodes run.
type idleTaker struct{ *store.DB }

func (idleTaker) TakeRuns(context.Context, int, time.Duration) ([]*apicron.Job, error) {
	return nil, nil
}

// announcingStore is the real shared store that closes listening when the
// engine starts its notification listener, and records a successful Resign.
type announcingStore struct {
	*store.DB
	once      sync.Once
	listening chan struct{}
	resigned  atomic.Bool
}

func newAnnouncingStore(db *store.DB) *announcingStore {
	return &announcingStore{DB: db, listening: make(chan struct{})}
}

func (a *announcingStore) Listen(ctx context.Context, fn func(channel, payload string)) {
	a.once.Do(func() { close(a.listening) })
	a.DB.Listen(ctx, fn)
}

func (a *announcingStore) Resign(ctx context.Context) error {
	err := a.DB.Resign(ctx)
	if err == nil {
		a.resigned.Store(true)
	}
	return err
}
