package apicron

import (
	"testing"
	"time"
)

func TestSchedule_PlanMisfirePolicies(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	mk := func(p MisfirePolicy, grace, catchUp *int) *Schedule {
		s := &Schedule{ID: 1, Type: Interval, IntervalSeconds: 10, MisfirePolicy: p, MisfireGraceSeconds: grace, CatchUpMax: catchUp}
		s.Activate(t0)
		return s
	}
	cases := []struct {
		name    string
		s       *Schedule
		now     int // seconds after t0
		fire    bool
		at      int // the occurrence fired, when fire
		missed  int64
		next    int
		trigger Trigger
	}{
		{"coalesce fires the latest", mk(MisfireCoalesce, nil, nil), 35, true, 30, 3, 40, ""},
		{"coalesce beyond its grace fires none", mk(MisfireCoalesce, new(2), nil), 35, false, 0, 4, 40, ""},
		{"coalesce within its grace", mk(MisfireCoalesce, new(6), nil), 35, true, 30, 3, 40, ""},
		{"skip on time", mk(MisfireSkip, nil, nil), 0, true, 0, 0, 10, ""},
		{"skip after downtime", mk(MisfireSkip, nil, nil), 35, false, 0, 4, 40, ""},
		{"catch_up starts with the oldest", mk(MisfireCatchUp, nil, nil), 35, true, 0, 0, 10, TriggerCatchUp},
		{"catch_up keeps the newest catch_up_max", mk(MisfireCatchUp, nil, new(2)), 35, true, 20, 2, 30, TriggerCatchUp},
		{"catch_up within the grace only", mk(MisfireCatchUp, new(15), nil), 35, true, 20, 2, 30, TriggerCatchUp},
		{"catch_up with none within the grace", mk(MisfireCatchUp, new(2), nil), 35, false, 0, 4, 40, ""},
		{"catch_up on time", mk(MisfireCatchUp, nil, nil), 0, true, 0, 0, 10, ""},
	}
	for _, c := range cases {
		now := at(c.now)
		p := c.s.Plan(now, now)
		if p.Fire != c.fire || p.Missed != c.missed || p.Next == nil || !p.Next.Equal(at(c.next)) || p.Trigger != c.trigger ||
			(c.fire && !p.ScheduledAt.Equal(at(c.at))) || p.Skip == c.fire {
			t.Errorf("%s: %+v (next %v), want fire %v at %ds, missed %d, next %ds, trigger %q", c.name, p, p.Next, c.fire, c.at, c.missed, c.next, c.trigger)
		}
	}
	// catch_up runs the missed ones one after another: the claim after
	// the first finds the second due, and the last is the schedule's own.
	s := mk(MisfireCatchUp, nil, nil)
	now := at(35)
	var got []int
	for range 10 {
		p := s.Plan(now, now)
		if !p.Fire {
			break
		}
		got = append(got, int(p.ScheduledAt.Sub(t0)/time.Second))
		s.NextRunAt = p.Next
	}
	if len(got) != 4 || got[0] != 0 || got[3] != 30 || !s.NextRunAt.Equal(at(40)) {
		t.Errorf("catch_up ran %v then waits for %s, want [0 10 20 30] then 40 s", got, s.NextRunAt)
	}
}

func TestSchedule_ValidatePolicies(t *testing.T) {
	t.Parallel()
	base := func() Schedule { return Schedule{Name: "s", TargetID: 1, Type: Interval, IntervalSeconds: 10} }
	cases := []struct {
		mod   func(*Schedule)
		field string
	}{
		{func(s *Schedule) { s.OverlapPolicy = "queue" }, "overlap_policy"},
		{func(s *Schedule) { s.MaxParallel = new(3) }, "max_parallel"},
		{func(s *Schedule) { s.OverlapPolicy, s.MaxParallel = OverlapAllow, new(0) }, "max_parallel"},
		{func(s *Schedule) { s.OverlapPolicy, s.MaxParallel = OverlapAllow, new(MaxParallelLimit+1) }, "max_parallel"},
		{func(s *Schedule) { s.MisfirePolicy = "later" }, "misfire_policy"},
		{func(s *Schedule) { s.CatchUpMax = new(3) }, "catch_up_max"},
		{func(s *Schedule) { s.MisfirePolicy, s.CatchUpMax = MisfireCatchUp, new(0) }, "catch_up_max"},
		{func(s *Schedule) { s.OverlapPolicy, s.MaxParallel = OverlapAllow, new(5) }, ""},
		{func(s *Schedule) { s.MisfirePolicy, s.CatchUpMax = MisfireCatchUp, new(5) }, ""},
		{func(s *Schedule) { s.OverlapPolicy, s.MisfirePolicy = OverlapReplace, MisfireSkip }, ""},
	}
	for i, c := range cases {
		s := base()
		c.mod(&s)
		err := s.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("case %d: %v", i, err)
			}
		} else if e, ok := err.(*Error); !ok || e.Field != c.field {
			t.Errorf("case %d: %v, want invalid %s", i, err, c.field)
		}
	}
	s := Schedule{OverlapPolicy: OverlapAllow}
	if p, n := s.Overlap(); p != OverlapAllow || n != DefaultMaxParallel {
		t.Errorf("allow without max_parallel: %s %d", p, n)
	}
	if p, n := (&Schedule{}).Overlap(); p != OverlapSkip || n != 1 {
		t.Errorf("no policy: %s %d, want skip 1", p, n)
	}
}
