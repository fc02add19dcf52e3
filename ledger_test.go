package apicron

import (
	"strings"
	"testing"
	"time"
)

func TestBuildLedger(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	end := at(80)
	s := &Schedule{ID: 7, Type: Interval, IntervalSeconds: 10, EndAt: &end, CreatedAt: t0}
	s.Activate(t0)
	next := at(50)
	s.NextRunAt = &next
	runs := []*Run{
		{ID: 1, ScheduledAt: at(0), Outcome: Outcome{Status: Success}, Trigger: TriggerSchedule},
		{ID: 2, ScheduledAt: at(25), Outcome: Outcome{Status: Success}, Trigger: TriggerManual}, // off the timetable
		{ID: 3, ScheduledAt: at(30), Outcome: Outcome{Status: Failed}, Trigger: TriggerSchedule},
	}
	misses := []Miss{{ScheduleID: 7, From: at(10), Until: at(10).Add(time.Millisecond), Count: 1, Reason: MissOverlap}}
	events := []*ScheduleEvent{
		{ID: 1, Kind: EventCreated, At: t0},
		{ID: 2, Kind: EventUpdated, At: at(45)},
	}
	entries, more := BuildLedger(s, runs, misses, events, at(-10), at(100), at(45))
	var got []string
	for _, e := range entries {
		got = append(got, e.Status)
	}
	want := "ran skipped_overlap unaccounted ran ran unaccounted planned planned planned outside_bounds outside_bounds"
	if more || strings.Join(got, " ") != want {
		t.Fatalf("ledger %v, want %s", got, want)
	}
	if entries[3].OnTimetable || entries[3].Run.ID != 2 {
		t.Errorf("manual run: %+v, want off the timetable", entries[3])
	}
	if !strings.Contains(entries[2].Reason, "updated") {
		t.Errorf("unaccounted at 20 s: reason %q, want the update named", entries[2].Reason)
	}
	// A range of more occurrences than a ledger lists is cut, and says so.
	every := &Schedule{ID: 8, Type: Interval, IntervalSeconds: 1, CreatedAt: t0}
	every.Activate(t0)
	entries, more = BuildLedger(every, nil, nil, nil, t0, t0.Add(time.Hour), t0)
	if !more || len(entries) != MaxLedger {
		t.Errorf("an hour of 1 s: %d entries, truncated %v; want %d and true", len(entries), more, MaxLedger)
	}
}
