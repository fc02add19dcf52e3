package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

func TestStore_Targets(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := &apicron.Target{Name: " api ", URL: "https://example.com/{{.RunID}}", Method: "post",
			Headers: map[string]string{"Authorization": "Bearer x"}, BodyTemplate: `{"at":"{{.ScheduledAt}}"}`,
			TimeoutSeconds: ptr(2.5), MaxRetries: ptr(2)}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "api" || got.Method != "POST" || got.Headers["Authorization"] != "Bearer x" ||
			*got.TimeoutSeconds != 2.5 || *got.MaxRetries != 2 || !got.CreatedAt.Equal(t0) {
			t.Fatalf("round trip: %+v", got)
		}
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{URL: ptr("ftp://x")}); apicron.ErrorCode(err) != apicron.EINVALID {
			t.Fatalf("bad update: %v", err)
		}
		got, _ = db.FindTargetByID(ctx, tg.ID)
		if got.URL != tg.URL {
			t.Fatalf("refused update changed the url to %q", got.URL)
		}
		up, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Name: ptr("renamed"), TimeoutSeconds: ptr[*float64](nil)})
		if err != nil || up.Name != "renamed" || up.TimeoutSeconds != nil || up.Method != "POST" {
			t.Fatalf("update: %+v %v", up, err)
		}
		if _, err := db.FindTargetByID(ctx, 999); apicron.ErrorCode(err) != apicron.ENOTFOUND {
			t.Fatalf("missing target: %v", err)
		}
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 5})
		err = db.DeleteTarget(ctx, tg.ID)
		if apicron.ErrorCode(err) != apicron.ECONFLICT || !strings.Contains(apicron.ErrorMessage(err), "1 schedule") {
			t.Fatalf("delete used target: %v", err)
		}
		if err := db.DeleteSchedule(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteTarget(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		if _, n, _ := db.FindTargets(ctx, apicron.Page{}); n != 0 {
			t.Fatalf("%d targets left", n)
		}
	})
}

func TestStore_ScheduleLifecycle(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		if err := db.CreateSchedule(ctx, &apicron.Schedule{Name: "x", TargetID: 999, Type: apicron.Interval, IntervalSeconds: 5}); apicron.ErrorField(err) != "target_id" {
			t.Fatalf("missing target: %v", err)
		}
		w := mustCreateSchedule(t, db, &apicron.Schedule{Name: "w", TargetID: tg.ID, Type: apicron.Window, IntervalSeconds: 10, DurationSeconds: ptr(300)})
		if w.Status != apicron.Active || !w.NextRunAt.Equal(t0) || !w.EndsAt.Equal(t0.Add(300*time.Second)) {
			t.Fatalf("created: %+v", w)
		}
		clock.Add(100 * time.Second)
		p, err := db.PauseSchedule(ctx, w.ID, apicron.PauseRequest{})
		if err != nil || p.Status != apicron.Paused || *p.RemainingMs != 200_000 || p.NextRunAt != nil {
			t.Fatalf("pause: %+v %v", p, err)
		}
		if res := mustClaim(t, db, clock.Now(), w.ID); res.Job != nil || res.Next != nil {
			t.Fatalf("claimed a paused schedule: %+v", res)
		}
		clock.Add(time.Hour)
		r, err := db.ResumeSchedule(ctx, w.ID)
		if err != nil || r.Status != apicron.Active || !r.EndsAt.Equal(clock.Now().Add(200*time.Second)) || !r.NextRunAt.Equal(clock.Now()) {
			t.Fatalf("resume: %+v %v", r, err)
		}
		if again, err := db.ResumeSchedule(ctx, w.ID); err != nil || again.Version != r.Version {
			t.Fatalf("resume of ACTIVE should change nothing: %+v %v", again, err)
		}
		// Past the end the claim stops it.
		res := mustClaim(t, db, clock.Add(201*time.Second), w.ID)
		if res.Job != nil || res.Next != nil {
			t.Fatalf("claim after end: %+v", res)
		}
		got, _ := db.FindScheduleByID(ctx, w.ID)
		if got.Status != apicron.Stopped || got.StoppedReason != apicron.StoppedWindowElapsed {
			t.Fatalf("after end: %+v", got)
		}
		if _, err := db.ResumeSchedule(ctx, w.ID); apicron.ErrorCode(err) != apicron.ECONFLICT {
			t.Fatalf("resume stopped: %v", err)
		}
		if _, err := db.UpdateSchedule(ctx, w.ID, apicron.ScheduleUpdate{Type: ptr(apicron.Interval)}); apicron.ErrorCode(err) != apicron.EINVALID {
			t.Fatalf("type change: %v", err)
		}
		list, total, err := db.FindSchedules(ctx, apicron.ScheduleFilter{Status: ptr(apicron.Stopped)})
		if err != nil || total != 1 || len(list) != 1 {
			t.Fatalf("filter: %d %v", total, err)
		}
	})
}

// Twenty pauses and resumes between two occurrences of a 60 s schedule add
// no run: each resume keeps the grid (anchor and next occurrence as they
// were), and what the store writes is what a reader and a claim then see. A
// window keeps its remaining time and its grid too.
func TestStore_ResumeContinuesGrid(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		if res := mustClaim(t, db, t0, s.ID); res.Job == nil {
			t.Fatal("creation did not fire at once")
		}
		first := t0.Add(60 * time.Second)
		for i := range 20 {
			clock.Add(100 * time.Millisecond)
			if _, err := db.PauseSchedule(ctx, s.ID, apicron.PauseRequest{}); err != nil {
				t.Fatal(err)
			}
			clock.Add(50 * time.Millisecond)
			r, err := db.ResumeSchedule(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.FindScheduleByID(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range []*apicron.Schedule{r, got} {
				if sc.Status != apicron.Active || !sc.NextRunAt.Equal(first) || !sc.AnchorAt.Equal(t0) {
					t.Fatalf("resume %d: %s next %v anchor %v, want ACTIVE next %v anchor %v", i+1, sc.Status, sc.NextRunAt, sc.AnchorAt, first, t0)
				}
			}
			if res := mustClaim(t, db, clock.Now(), s.ID); res.Job != nil {
				t.Fatalf("resume %d fired at %v", i+1, clock.Now().Sub(t0))
			}
		}
		if _, n, err := db.FindRuns(ctx, apicron.RunFilter{ScheduleID: &s.ID}); err != nil || n != 1 {
			t.Fatalf("%d runs (err %v), want the one of creation", n, err)
		}

		w := mustCreateSchedule(t, db, &apicron.Schedule{Name: "w", TargetID: tg.ID, Type: apicron.Window, IntervalSeconds: 10, DurationSeconds: ptr(300)})
		start := clock.Now()
		clock.Add(95 * time.Second)
		if _, err := db.PauseSchedule(ctx, w.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour + 3*time.Second) // resumed at 3698 s: the grid's next point is 3700 s
		r, err := db.ResumeSchedule(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !r.EndsAt.Equal(clock.Now().Add(205*time.Second)) || !r.NextRunAt.Equal(start.Add(3700*time.Second)) || !r.AnchorAt.Equal(start) {
			t.Fatalf("window resumed: ends %v next %v anchor %v", r.EndsAt.Sub(start), r.NextRunAt.Sub(start), r.AnchorAt.Sub(start))
		}
	})
}

func TestStore_ClaimAndFinish(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})

		// Not due yet: nothing claimed, next unchanged.
		if res := mustClaim(t, db, t0.Add(-time.Second), s.ID); res.Job != nil || !res.Next.Equal(t0) {
			t.Fatalf("early claim: %+v", res)
		}
		res := mustClaim(t, db, t0.Add(3*time.Millisecond), s.ID)
		if res.Job == nil || !res.Job.ScheduledAt.Equal(t0) || !res.Next.Equal(t0.Add(10*time.Second)) ||
			res.Job.URL != tg.URL || res.Job.Headers["X-A"] != "1" || res.Job.MaxRetries != -1 {
			t.Fatalf("claim: %+v %+v", res, res.Job)
		}
		first := res.Job
		// Due again while the first is RUNNING: skipped, counted, grid kept.
		res = mustClaim(t, db, t0.Add(10*time.Second), s.ID)
		if res.Job != nil || !res.Next.Equal(t0.Add(20*time.Second)) {
			t.Fatalf("overlap: %+v", res)
		}
		finish(t, db, first, apicron.Success, 12.5, t0.Add(11*time.Second))
		// A late duplicate result is fenced off.
		finish(t, db, first, apicron.Failed, 99, t0.Add(12*time.Second))
		run, err := db.FindRunByID(ctx, first.RunID)
		if err != nil || run.Status != apicron.Success || *run.LatencyMs != 12.5 || len(run.Attempts) != 1 {
			t.Fatalf("run: %+v %v", run, err)
		}
		// Downtime: 5 occurrences due (20..60 s); one fires, the latest; 4 missed.
		res = mustClaim(t, db, t0.Add(65*time.Second), s.ID)
		if res.Job == nil || !res.Job.ScheduledAt.Equal(t0.Add(60*time.Second)) || res.Job.Missed != 4 || !res.Next.Equal(t0.Add(70*time.Second)) {
			t.Fatalf("coalesce: %+v %+v", res, res.Job)
		}
		finish(t, db, res.Job, apicron.Timeout, 5000, t0.Add(66*time.Second))

		m, err := db.SystemMetrics(ctx, t0.Add(70*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if m.TotalRuns != 2 || m.RunsByStatus[apicron.Success] != 1 || m.RunsByStatus[apicron.Timeout] != 1 ||
			m.SuccessRate != 50 || m.SkippedOverlap != 1 || m.Missed != 4 || m.RunsLastHour != 2 || m.AvgLatencyMs != 2506.25 {
			t.Fatalf("system metrics: %+v", m)
		}
		if m.P99LatencyMs < 4500 || m.P99LatencyMs > 5500 {
			t.Fatalf("p99 %v, want about 5000", m.P99LatencyMs)
		}
		sm, total, err := db.ScheduleMetrics(ctx, apicron.Page{})
		if err != nil || total != 1 {
			t.Fatal(err)
		}
		if sm[0].TotalRuns != 2 || sm[0].SuccessfulRuns != 1 || sm[0].FailedRuns != 1 || *sm[0].LastStatus != apicron.Timeout || sm[0].Missed != 4 {
			t.Fatalf("schedule metrics: %+v", sm[0])
		}
		runs, total, err := db.FindRuns(ctx, apicron.RunFilter{ScheduleID: &s.ID, Status: ptr(apicron.Success)})
		if err != nil || total != 1 || runs[0].ID != first.RunID {
			t.Fatalf("find runs: %d %v", total, err)
		}
	})
}

func TestStore_InterruptRunning(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		job := mustClaim(t, db, t0, s.ID).Job
		n, err := db.InterruptRunning(ctx, t0.Add(time.Second), "process restarted")
		if err != nil || n != 1 {
			t.Fatalf("interrupt: %d %v", n, err)
		}
		run, _ := db.FindRunByID(ctx, job.RunID)
		if run.Status != apicron.Interrupted || run.ErrorMessage != "process restarted" || !run.StartedAt.Equal(t0) {
			t.Fatalf("run: %+v", run)
		}
		m, _ := db.SystemMetrics(ctx, t0)
		if m.RunsByStatus[apicron.Interrupted] != 1 || m.RunningRuns != 0 {
			t.Fatalf("metrics: %+v", m)
		}
	})
}

func TestStore_ConcurrentClaimsNeverDuplicate(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		var wg sync.WaitGroup
		var mu sync.Mutex
		jobs := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := db.Claim(ctx, t0, t0, []int64{s.ID}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if res[0].Job != nil {
					mu.Lock()
					jobs++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if jobs != 1 {
			t.Fatalf("%d claims fired the same occurrence", jobs)
		}
	})
}

func TestStore_SQLiteSingleProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.db")
	db, err := store.Open(context.Background(), store.Config{DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = store.Open(context.Background(), store.Config{DSN: path})
	if err == nil || !strings.Contains(err.Error(), "in use by another apicron process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestStore_PersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	tg := mustCreateTarget(t, db)
	db.Close()
	db, err = store.Open(ctx, store.Config{DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FindTargetByID(ctx, tg.ID); err != nil {
		t.Fatal(err)
	}
}

// TestStore_JobCarriesTargetRules: a target's allow_insecure_redirects is
// stored, updated and carried by the jobs claimed for it, and so are its
// own secret header names (the executor never quotes their values), also
// while the jobs wait in a shared database for a node to take them.
func TestStore_JobCarriesTargetRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, db *store.DB, takeQueued bool) {
		tg := &apicron.Target{Name: "t", URL: "https://127.0.0.1:9/x", AllowInsecureRedirects: true,
			Headers: map[string]string{"X-Sig": "s3cret"}, SecretHeaders: []string{"X-Sig"}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindTargetByID(ctx, tg.ID); err != nil || !got.AllowInsecureRedirects {
			t.Fatalf("read back: %+v, %v", got, err)
		}
		job := func(name string) *apicron.Job {
			t.Helper()
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
			res := mustClaim(t, db, t0, s.ID)
			if !takeQueued {
				return res.Job
			}
			jobs, err := db.TakeRuns(ctx, 10, 0)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("take: %v, %v", jobs, err)
			}
			return jobs[0]
		}
		if j := job("before"); j == nil || !j.AllowInsecureRedirects || !slices.Equal(j.SecretHeaders, []string{"X-Sig"}) ||
			!j.IsSecretHeader("x-sig") || j.Headers["X-Sig"] != "s3cret" {
			t.Fatalf("claimed job %+v, want AllowInsecureRedirects and the secret header X-Sig", j)
		}
		off := false
		if got, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{AllowInsecureRedirects: &off}); err != nil || got.AllowInsecureRedirects {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if j := job("after"); j == nil || j.AllowInsecureRedirects {
			t.Fatalf("claimed job after the update %+v, want no AllowInsecureRedirects", j)
		}
	}
	storetest.ForEach(t, func(t *testing.T, driver string) {
		check(t, storetest.Open(t, driver, storetest.NewClock(t0)), false)
	})
	t.Run("postgres-shared", func(t *testing.T) {
		t.Parallel()
		db, _ := storetest.OpenShared(t, "a", storetest.NewClock(t0))
		check(t, db, true)
	})
}
