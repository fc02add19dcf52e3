package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestPruneHousekeeping: the per-minute counters go after a week; a
// logout's record once its session has expired (SessionEnded reports it
// until then); with a run cutoff, the schedule events and the finished
// notifications from before it, pending ones never. What is newer stays.
func TestPruneHousekeeping(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateTarget(t, db)
		old := mustCreateSchedule(t, db, &apicron.Schedule{Name: "old", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		mustRunAt(t, db, old, t0.Add(time.Minute)) // a minute row of t0
		if err := db.EndSession(ctx, "expired", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		now := t0.Add(10 * 24 * time.Hour)
		clock.Set(now)
		fresh := mustCreateSchedule(t, db, &apicron.Schedule{Name: "fresh", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		mustRunAt(t, db, fresh, now.Add(time.Minute))
		if err := db.EndSession(ctx, "live", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		n := &apicron.Notifier{Name: "hook", Type: apicron.NotifierWebhook, URL: "https://hooks.example/x"}
		if err := db.CreateNotifier(ctx, n); err != nil {
			t.Fatal(err)
		}
		for _, row := range []struct {
			status string
			at     time.Time
		}{{"sent", t0}, {"failed", t0}, {"pending", t0}, {"sent", now}} {
			rawQuery(t, driver, dsn, fmt.Sprintf(`INSERT INTO notifications (notifier_id, event, message, status, created_at)
				VALUES (%d, 'failing', 'm', '%s', %d) RETURNING id`, n.ID, row.status, row.at.UnixMilli()))
		}
		count := func(q string) string { return rawQuery(t, driver, dsn, "SELECT CAST(COUNT(*) AS TEXT) FROM "+q) }

		// Without a run cutoff, only the minutes and the expired logout go.
		if _, err := db.PruneHousekeeping(ctx, time.Time{}, 1000); err != nil {
			t.Fatal(err)
		}
		if got := count(fmt.Sprintf("run_stats_minute WHERE minute < %d", now.Add(-store.MinuteStatsKept).UnixMilli())); got != "0" {
			t.Fatalf("%s minute rows older than a week remain", got)
		}
		if got := count("run_stats_minute"); got != "1" {
			t.Fatalf("%s minute rows, want the fresh one", got)
		}
		if ended, err := db.SessionEnded(ctx, "live"); err != nil || !ended {
			t.Fatalf("a live logged-out session: ended %v %v", ended, err)
		}
		if got := count("dashboard_logouts WHERE session_id = 'expired'"); got != "0" {
			t.Fatal("the expired logout's record remains")
		}
		if got := count("notifications"); got != "4" {
			t.Fatalf("%s notifications, want 4: nothing goes without a cutoff", got)
		}
		events := count("schedule_events")

		// With a cutoff between them: the old events and finished
		// notifications go, the pending one and the new ones stay.
		if _, err := db.PruneHousekeeping(ctx, now.Add(-24*time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		if got := count(fmt.Sprintf("schedule_events WHERE schedule_id = %d", old.ID)); got != "0" {
			t.Fatalf("%s events of the old schedule remain", got)
		}
		if got, was := count(fmt.Sprintf("schedule_events WHERE schedule_id = %d", fresh.ID)), events; got == "0" {
			t.Fatalf("the fresh schedule's events went (of %s)", was)
		}
		if got := count("notifications WHERE status = 'pending'"); got != "1" {
			t.Fatal("a pending notification was deleted")
		}
		if got := count("notifications"); got != "2" {
			t.Fatalf("%s notifications, want the pending and the new one", got)
		}
		if ended, _ := db.SessionEnded(ctx, "never-logged-out"); ended {
			t.Fatal("SessionEnded of an unknown session")
		}
	})
}

// TestFinish_RequestHeaders: the headers a run sent are kept with it and
// read back by FindRunByID; a run that sent none reads nil.
func TestFinish_RequestHeaders(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		var ids []int64
		for i, headers := range []map[string]string{{"Authorization": apicron.MaskedValue, "X-Run": "run-1"}, nil} {
			at := t0.Add(time.Duration(i+1) * time.Minute)
			job := mustClaim(t, db, at, s.ID).Job
			latency, code := 12.0, 200
			out := apicron.Outcome{Status: apicron.Success, LatencyMs: &latency, StatusCode: &code}
			if err := db.Finish(ctx, []apicron.RunResult{{RunID: job.RunID, ScheduleID: s.ID, StartedAt: at, FinishedAt: at.Add(time.Second),
				Outcome: out, Request: apicron.RequestInfo{Method: "GET", URL: "https://example.com/", Headers: headers},
				Attempts: []apicron.Attempt{{Number: 1, StartedAt: at, FinishedAt: at.Add(time.Second), Outcome: out}}}}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, job.RunID)
		}
		r, err := db.FindRunByID(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(r.Request.Headers) != fmt.Sprint(map[string]string{"Authorization": apicron.MaskedValue, "X-Run": "run-1"}) {
			t.Fatalf("read back %v", r.Request.Headers)
		}
		if r, err = db.FindRunByID(ctx, ids[1]); err != nil || r.Request.Headers != nil {
			t.Fatalf("a run without headers read back %v %v", r.Request.Headers, err)
		}
	})
}
