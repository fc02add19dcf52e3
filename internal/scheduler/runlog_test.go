package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// failingSender refuses every alert.
type failingSender struct{}

func (failingSender) Send(context.Context, *apicron.Notifier, string, *apicron.AlertMessage) error {
	return errors.New("receiver down")
}

// TestLog_AlertAboutARun: the line that says an alert about a failed run
// was not delivered names the schedule and the run, as JSON attributes.
func TestLog_AlertAboutARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, "sqlite", clock)
	n := &apicron.Notifier{Name: "ops", Type: apicron.NotifierWebhook, URL: "http://127.0.0.1:9/hook"}
	if err := db.CreateNotifier(ctx, n); err != nil {
		t.Fatal(err)
	}
	fail := execFunc(func(_ context.Context, job *apicron.Job) apicron.RunResult {
		now := clock.Now()
		out := apicron.Outcome{Status: apicron.Failed, ErrorType: "http_5xx", ErrorMessage: "503 Service Unavailable"}
		return apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now, Outcome: out,
			Attempts: []apicron.Attempt{{RunID: job.RunID, Number: 1, StartedAt: now, FinishedAt: now, Outcome: out}}}
	})
	logs := &logBuffer{}
	s := scheduler.New(scheduler.Config{Store: db, Executor: fail, Clock: clock, Logger: logs.logger(),
		Outbox: db, Sender: failingSender{}})
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	sch := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60,
		Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 1, SuccessThreshold: 1}})
	s.Changed(sch.ID)
	s.Step(ctx, t0)
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	runs := allRuns(t, db)
	if len(runs) != 1 || runs[0].Status != apicron.Failed {
		t.Fatalf("runs %+v, want one FAILED", runs)
	}
	if got := s.DeliverNotifications(ctx); got != 1 {
		t.Fatalf("%d notifications tried, want 1", got)
	}
	lines := logs.lines(t, slog.LevelWarn, "notification not delivered")
	if len(lines) != 1 {
		t.Fatalf("%d lines say the notification was not delivered:\n%s", len(lines), logs)
	}
	want := map[string]string{"schedule_id": strconv.FormatInt(sch.ID, 10), "run_id": strconv.FormatInt(runs[0].ID, 10)}
	for k, v := range want {
		if got, ok := lines[0][k].(json.Number); !ok || got.String() != v {
			t.Errorf("%s = %v, want %s in %v", k, lines[0][k], v, lines[0])
		}
	}
}
