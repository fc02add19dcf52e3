package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

func mustCreateNotifier(t *testing.T, db *store.DB, name string) *apicron.Notifier {
	t.Helper()
	n := &apicron.Notifier{Name: name, Type: apicron.NotifierWebhook, URL: "http://127.0.0.1:9/hook"}
	if err := db.CreateNotifier(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runOnce claims schedule s at at and finishes its run with status.
func runOnce(t *testing.T, db *store.DB, s *apicron.Schedule, at time.Time, status apicron.RunStatus) int64 {
	t.Helper()
	res := mustClaim(t, db, at, s.ID)
	if res.Job == nil {
		t.Fatalf("claim of schedule %d at %s fired nothing", s.ID, at)
	}
	finish(t, db, res.Job, status, 5, at.Add(100*time.Millisecond))
	return res.Job.RunID
}

func notifications(t *testing.T, db *store.DB, scheduleID int64) []*apicron.Notification {
	t.Helper()
	list, _, err := db.FindNotifications(context.Background(), apicron.NotificationFilter{ScheduleID: &scheduleID})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func events(list []*apicron.Notification) string {
	var out []string
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		e := string(list[i].Event)
		if list[i].Message.Realert {
			e += "(realert)"
		}
		out = append(out, e)
	}
	return strings.Join(out, ",")
}

// TestAlertStreaks: a failing alert after failure_threshold consecutive
// failures, once; a re-alert after realert_minutes; a recovered alert after
// success_threshold successes; INTERRUPTED counts neither way.
func TestAlertStreaks(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		n := mustCreateNotifier(t, db, "ops")
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
			Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 3, SuccessThreshold: 2, RealertMinutes: 10}})
		at := t0
		step := func(status apicron.RunStatus) {
			clock.Set(at)
			runOnce(t, db, s, at, status)
			at = at.Add(time.Minute)
		}
		step(apicron.Failed)
		step(apicron.Timeout)
		step(apicron.Interrupted) // neutral
		if got := events(notifications(t, db, s.ID)); got != "" {
			t.Fatalf("after 2 failures: notifications %q, want none", got)
		}
		step(apicron.ConnectionError)
		st, err := db.AlertState(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != apicron.AlertStateFailing || st.ConsecutiveFailures != 3 || st.FailingSince == nil ||
			!st.FailingSince.Equal(t0.Add(100*time.Millisecond)) {
			t.Fatalf("alert state %+v, want failing with 3 failures since the first", st)
		}
		for range 5 { // 5 more minutes of failures: no re-alert yet
			step(apicron.Failed)
		}
		if got := events(notifications(t, db, s.ID)); got != "failing" {
			t.Fatalf("notifications %q, want one failing", got)
		}
		for range 6 { // past 10 minutes since the alert
			step(apicron.Failed)
		}
		if got := events(notifications(t, db, s.ID)); got != "failing,failing(realert)" {
			t.Fatalf("notifications %q, want failing then a re-alert", got)
		}
		step(apicron.Success)
		step(apicron.Failed) // the success streak breaks
		step(apicron.Success)
		if got := events(notifications(t, db, s.ID)); got != "failing,failing(realert)" {
			t.Fatalf("notifications %q: recovered too early", got)
		}
		step(apicron.Success)
		list := notifications(t, db, s.ID)
		if got := events(list); got != "failing,failing(realert),recovered" {
			t.Fatalf("notifications %q, want a recovered alert last", got)
		}
		m := list[0].Message
		if m.Schedule == nil || m.Schedule.Name != "s" || m.Target == nil || m.Target.ID != tg.ID || m.LastRun == nil ||
			m.LastRun.Status != apicron.Success || m.ConsecutiveSuccesses != 2 || m.Summary != `schedule "s" recovered: 2 consecutive successes` {
			t.Fatalf("recovered message %+v", m)
		}
		first := list[len(list)-1]
		if first.NotifierID != n.ID || first.Status != apicron.NotificationPending || first.Message.LastRun == nil ||
			first.Message.LastRun.Status != apicron.ConnectionError || !strings.Contains(first.Message.Summary, "3 consecutive failures") {
			t.Fatalf("failing notification %+v, message %+v", first, first.Message)
		}
		st, _ = db.AlertState(ctx, s.ID)
		if st.Status != apicron.AlertStateOK || st.ConsecutiveSuccesses != 2 || st.ConsecutiveFailures != 0 {
			t.Fatalf("alert state %+v after recovery", st)
		}
	})
}

// TestAlertDefaultRule: a schedule without a rule follows the default one;
// one with an empty rule opts out.
func TestAlertDefaultRule(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		n := mustCreateNotifier(t, db, "ops")
		if err := db.SetDefaultAlertRule(ctx, &apicron.AlertRule{NotifierIDs: []int64{999}}); apicron.ErrorCode(err) != apicron.EINVALID {
			t.Fatalf("default rule naming a missing notifier: %v, want EINVALID", err)
		}
		if err := db.SetDefaultAlertRule(ctx, &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 1}); err != nil {
			t.Fatal(err)
		}
		tg := mustCreateTarget(t, db)
		follows := mustCreateSchedule(t, db, &apicron.Schedule{Name: "a", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		optOut := mustCreateSchedule(t, db, &apicron.Schedule{Name: "b", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
			Alert: &apicron.AlertRule{NotifierIDs: []int64{}, FailureThreshold: 1, SuccessThreshold: 1}})
		runOnce(t, db, follows, t0, apicron.Failed)
		runOnce(t, db, optOut, t0, apicron.Failed)
		if got := events(notifications(t, db, follows.ID)); got != "failing" {
			t.Fatalf("schedule on the default rule: %q, want failing", got)
		}
		if got := events(notifications(t, db, optOut.ID)); got != "" {
			t.Fatalf("schedule that opted out: %q, want none", got)
		}
		if err := db.DeleteNotifier(ctx, n.ID); apicron.ErrorCode(err) != apicron.ECONFLICT ||
			!strings.Contains(apicron.ErrorMessage(err), "default rule") {
			t.Fatalf("delete a notifier the default rule names: %v, want ECONFLICT naming it", err)
		}
	})
}

// TestAutoPause: auto_pause_after consecutive failures pause the schedule
// with the last error as the reason, record the event, raise auto_paused;
// a resume gives it that many tries again.
func TestAutoPause(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		n := mustCreateNotifier(t, db, "ops")
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
			AutoPauseAfter: ptr(2), Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 5, SuccessThreshold: 1,
				OnAutoPause: true}})
		fail := func(at time.Time) {
			clock.Set(at)
			res := mustClaim(t, db, at, s.ID)
			if res.Job == nil {
				t.Fatalf("nothing claimed at %s", at)
			}
			code := 503
			err := db.Finish(ctx, []apicron.RunResult{{RunID: res.Job.RunID, ScheduleID: s.ID, StartedAt: at, FinishedAt: at,
				Outcome: apicron.Outcome{Status: apicron.Failed, StatusCode: &code, ErrorType: "http_5xx", ErrorMessage: "503 Service Unavailable"}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		fail(t0)
		got, _ := db.FindScheduleByID(ctx, s.ID)
		if got.Status != apicron.Active {
			t.Fatalf("after 1 failure: %s", got.Status)
		}
		fail(t0.Add(time.Minute))
		got, _ = db.FindScheduleByID(ctx, s.ID)
		if got.Status != apicron.Paused || !strings.Contains(got.PauseReason, "auto-paused after 2 consecutive failures") ||
			!strings.Contains(got.PauseReason, "503 Service Unavailable") {
			t.Fatalf("after 2 failures: %s %q, want PAUSED naming the last error", got.Status, got.PauseReason)
		}
		evs, err := db.FindEvents(ctx, s.ID, 0, 1)
		if err != nil || len(evs) != 1 || evs[0].Kind != apicron.EventPaused || evs[0].Actor != apicron.ActorEngine {
			t.Fatalf("last event %+v, %v; want paused by the engine", evs, err)
		}
		if e := events(notifications(t, db, s.ID)); e != "auto_paused" {
			t.Fatalf("notifications %q, want auto_paused", e)
		}
		clock.Set(t0.Add(3 * time.Minute))
		if _, err := db.ResumeSchedule(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		resumed, _ := db.FindScheduleByID(ctx, s.ID)
		fail(*resumed.NextRunAt)
		if got, _ = db.FindScheduleByID(ctx, s.ID); got.Status != apicron.Active {
			t.Fatalf("1 failure after a resume: %s, want ACTIVE (the count starts again)", got.Status)
		}
	})
}

// TestNotificationDelivery: a take leases due notifications (none twice),
// a failed attempt waits its backoff, the sixth failure is final, and the
// notifier's last status follows.
func TestNotificationDelivery(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		n := mustCreateNotifier(t, db, "ops")
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
			Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 1, SuccessThreshold: 1}})
		runOnce(t, db, s, t0, apicron.Failed)
		jobs, err := db.TakeNotifications(ctx, t0, 10)
		if err != nil || len(jobs) != 1 || jobs[0].Notifier == nil || jobs[0].Notifier.ID != n.ID || jobs[0].Attempt != 1 {
			t.Fatalf("take: %+v, %v", jobs, err)
		}
		if again, _ := db.TakeNotifications(ctx, t0.Add(time.Second), 10); len(again) != 0 {
			t.Fatalf("a leased notification was taken again: %+v", again)
		}
		now := t0
		for attempt := 1; attempt <= store.NotificationAttempts; attempt++ {
			if attempt > 1 {
				now = now.Add(time.Hour)
				clock.Set(now)
				if jobs, err = db.TakeNotifications(ctx, now, 10); err != nil || len(jobs) != 1 || jobs[0].Attempt != attempt {
					t.Fatalf("attempt %d: %+v, %v", attempt, jobs, err)
				}
			}
			if err := db.FinishNotification(ctx, jobs[0].ID, jobs[0].Attempt, errors.New("receiver answered 500")); err != nil {
				t.Fatal(err)
			}
		}
		list := notifications(t, db, s.ID)
		if len(list) != 1 || list[0].Status != apicron.NotificationFailed || list[0].Attempts != store.NotificationAttempts ||
			list[0].LastError != "receiver answered 500" {
			t.Fatalf("after %d failures: %+v", store.NotificationAttempts, list[0])
		}
		failing, err := db.FailingNotifiers(ctx)
		if err != nil || len(failing) != 1 || failing[0].ID != n.ID {
			t.Fatalf("failing notifiers %+v, %v", failing, err)
		}
		// A delivery that works clears the notifier's failure.
		runOnce(t, db, s, t0.Add(time.Minute), apicron.Success) // recovered
		now = now.Add(time.Hour)
		jobs, _ = db.TakeNotifications(ctx, now, 10)
		if len(jobs) != 1 || jobs[0].Message.Event != apicron.AlertRecovered {
			t.Fatalf("take the recovered alert: %+v", jobs)
		}
		if err := db.FinishNotification(ctx, jobs[0].ID, jobs[0].Attempt, nil); err != nil {
			t.Fatal(err)
		}
		if failing, _ := db.FailingNotifiers(ctx); len(failing) != 0 {
			t.Fatalf("failing notifiers after a delivery: %+v", failing)
		}
		list = notifications(t, db, s.ID)
		if list[0].Status != apicron.NotificationSent || list[0].SentAt == nil {
			t.Fatalf("delivered notification %+v", list[0])
		}
	})
}

// TestNotifierSecrets: an email notifier's password and a slack URL are
// ciphertext in the row with SECRET_KEY, read back in clear, and kept when
// an update sends their masks.
func TestNotifierSecrets(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		dsn := storetest.NewDSN(t, driver)
		key := strings.Repeat("k", 32)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: []byte(key)})
		ctx := context.Background()
		mail := &apicron.Notifier{Name: "mail", Type: apicron.NotifierEmail, Email: &apicron.EmailSettings{Host: "smtp.example.com",
			Username: "u", Password: "hunter2", From: "a@example.com", To: []string{"b@example.com"}}}
		if err := db.CreateNotifier(ctx, mail); err != nil {
			t.Fatal(err)
		}
		slack := &apicron.Notifier{Name: "slack", Type: apicron.NotifierSlack, URL: "https://hooks.slack.com/services/T0/B0/XYZ"}
		if err := db.CreateNotifier(ctx, slack); err != nil {
			t.Fatal(err)
		}
		raw := rawQuery(t, driver, dsn, "SELECT password || ' ' || (SELECT url FROM notifiers WHERE name = 'slack') FROM notifiers WHERE name = 'mail'")
		if strings.Contains(raw, "hunter2") || strings.Contains(raw, "XYZ") || !strings.HasPrefix(raw, "enc:") {
			t.Fatalf("stored secrets %q, want ciphertexts", raw)
		}
		if err := db.CreateNotifier(ctx, &apicron.Notifier{Name: "mail", Type: apicron.NotifierSlack, URL: "https://x.example/"}); apicron.ErrorCode(err) != apicron.ECONFLICT {
			t.Fatalf("a second notifier named mail: %v, want ECONFLICT", err)
		}
		e := *mail.Email
		e.Password, e.To = apicron.MaskedValue, []string{"c@example.com"}
		got, err := db.UpdateNotifier(ctx, mail.ID, apicron.NotifierUpdate{Email: &e})
		if err != nil || got.Email.Password != "hunter2" || got.Email.To[0] != "c@example.com" {
			t.Fatalf("update with the masked password: %+v, %v", got, err)
		}
		got, err = db.UpdateNotifier(ctx, slack.ID, apicron.NotifierUpdate{URL: ptr(apicron.MaskURL(slack.URL)), Name: ptr("slack2")})
		if err != nil || got.URL != slack.URL || got.Name != "slack2" {
			t.Fatalf("update with the masked url: %+v, %v", got, err)
		}
		if err := db.DeleteNotifier(ctx, slack.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindNotifierByID(ctx, slack.ID); apicron.ErrorCode(err) != apicron.ENOTFOUND {
			t.Fatalf("deleted notifier: %v", err)
		}
		if got, _ := db.FindNotifierByID(ctx, mail.ID); got.Sealed {
			t.Fatal("read with the key: marked sealed")
		}
		// Without the key, the notifier reads (masked by the API) but is sealed: unusable.
		db.Close()
		other := storetest.OpenDSN(t, driver, dsn, store.Config{NodeID: "other"})
		if got, err := other.FindNotifierByID(ctx, mail.ID); err != nil || !got.Sealed {
			t.Fatalf("read without SECRET_KEY: %+v, %v; want it marked sealed", got, err)
		}
	})
}

// TestAlertBatch: results that queued up reach the store in one batch; a
// threshold crossed and left within it (F, F, F, S) is still told, and
// auto_pause_after still pauses. host_limit and rate_limit runs (held back,
// unsent) count neither way.
func TestAlertBatch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		n := mustCreateNotifier(t, db, "ops")
		tg := mustCreateTarget(t, db)
		// allow: every occurrence runs while the others are in flight, so
		// their results can be finished together.
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
			OverlapPolicy: apicron.OverlapAllow, MaxParallel: ptr(10), AutoPauseAfter: ptr(3),
			Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 3, SuccessThreshold: 1, OnAutoPause: true}})
		outcomes := []apicron.Outcome{
			{Status: apicron.Failed, ErrorType: apicron.ErrHostLimit}, // neutral
			{Status: apicron.Failed, ErrorType: apicron.ErrHTTP5xx},
			{Status: apicron.Timeout, ErrorType: "timeout"},
			{Status: apicron.Failed, ErrorType: apicron.ErrRateLimit}, // neutral
			{Status: apicron.Failed, ErrorType: apicron.ErrHTTP5xx, ErrorMessage: "503 Service Unavailable"},
			{Status: apicron.Success},
		}
		var results []apicron.RunResult
		for i, o := range outcomes {
			at := t0.Add(time.Duration(i) * time.Minute)
			clock.Set(at)
			res := mustClaim(t, db, at, s.ID)
			if res.Job == nil {
				t.Fatalf("nothing claimed at %s", at)
			}
			results = append(results, apicron.RunResult{RunID: res.Job.RunID, ScheduleID: s.ID, StartedAt: at,
				FinishedAt: at.Add(time.Second), Outcome: o})
		}
		if err := db.Finish(ctx, results); err != nil {
			t.Fatal(err)
		}
		list := notifications(t, db, s.ID)
		if got := events(list); got != "failing,recovered,auto_paused" {
			t.Fatalf("notifications %q, want failing and recovered from one batch, then auto_paused", got)
		}
		failing := list[len(list)-1].Message
		if failing.ConsecutiveFailures != 3 || failing.LastRun == nil || failing.LastRun.ID != results[4].RunID {
			t.Fatalf("failing alert %+v: want 3 failures, raised by the fifth result", failing)
		}
		got, _ := db.FindScheduleByID(ctx, s.ID)
		if got.Status != apicron.Paused || !strings.Contains(got.PauseReason, "503 Service Unavailable") {
			t.Fatalf("schedule %s %q: 3 failures within the batch pause it, naming the last error", got.Status, got.PauseReason)
		}
		st, _ := db.AlertState(ctx, s.ID)
		if st.Status != apicron.AlertStateOK || st.ConsecutiveSuccesses != 1 || st.ConsecutiveFailures != 0 {
			t.Fatalf("alert state %+v after the batch", st)
		}
	})
}

// TestAlertWindowEnded: a window's end is told, its message saying STOPPED.
func TestAlertWindowEnded(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		n := mustCreateNotifier(t, db, "ops")
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "w", TargetID: tg.ID, Type: apicron.Window, IntervalSeconds: 60,
			DurationSeconds: ptr(120), Alert: &apicron.AlertRule{NotifierIDs: []int64{n.ID}, FailureThreshold: 3, SuccessThreshold: 1,
				OnWindowEnd: true}})
		runOnce(t, db, s, t0, apicron.Success)
		runOnce(t, db, s, t0.Add(time.Minute), apicron.Success)
		clock.Set(t0.Add(2 * time.Minute))
		if _, err := db.Claim(context.Background(), t0.Add(2*time.Minute), t0.Add(2*time.Minute), []int64{s.ID}, nil); err != nil {
			t.Fatal(err)
		}
		list := notifications(t, db, s.ID)
		if events(list) != "window_ended" || list[0].Message.Schedule.Status != string(apicron.Stopped) {
			t.Fatalf("notifications %q, message %+v: want one window_ended saying STOPPED", events(list), list[0].Message.Schedule)
		}
	})
}
