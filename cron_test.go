package apicron_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

func cronTT(t *testing.T, expr, zone string) apicron.CronTimetable {
	t.Helper()
	c, err := apicron.ParseCron(expr)
	if err != nil {
		t.Fatalf("ParseCron(%q): %v", expr, err)
	}
	loc, err := apicron.LoadZone("timezone", zone)
	if err != nil {
		t.Fatal(err)
	}
	return apicron.CronTimetable{Expr: c, Loc: loc}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cronCase: after "after", the expression fires at each of want in turn,
// each with the DST rule named in dst ("" for none).
type cronCase struct {
	name, zone, expr, after string
	want                    []string
	dst                     []string
}

// The DST and calendar rules, in the four zones, through both changes of
// 2026 and 2027. The same table was run against robfig/cron/v3,
// hashicorp/cronexpr and netresearch/go-cron (see docs/scheduling.md).
var cronCases = []cronCase{
	// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01 02:00 EDT -> 01:00 EST;
	// 2027-03-14 and 2027-11-07 the same.
	{"NY 2026 spring: 02:30 does not exist, fires at 03:00 EDT", "America/New_York", "30 2 * * *", "2026-03-07T12:00:00-05:00",
		[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}, []string{"gap", ""}},
	{"NY 2026 spring: several times in the gap fire once", "America/New_York", "*/20 2 * * *", "2026-03-08T01:00:00-05:00",
		[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}, []string{"gap", ""}},
	{"NY 2026 spring: every minute steps over the gap", "America/New_York", "* * * * *", "2026-03-08T01:58:30-05:00",
		[]string{"2026-03-08T01:59:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:01:00-04:00"}, []string{"", "gap", ""}},
	{"NY 2026 fall: fixed hour fires once, at the first 01:30", "America/New_York", "30 1 * * *", "2026-11-01T00:00:00-04:00",
		[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}, []string{"first_of_two", ""}},
	{"NY 2026 fall: hourly fires at every real hour", "America/New_York", "0 * * * *", "2026-11-01T00:30:00-04:00",
		[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}, []string{"both_first", "both_second", ""}},
	{"NY 2026 fall: */30 fires through both passes", "America/New_York", "*/30 * * * *", "2026-11-01T01:20:00-04:00",
		[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"},
		[]string{"both_first", "both_second", "both_second", ""}},
	{"NY 2027 spring", "America/New_York", "30 2 * * *", "2027-03-13T12:00:00-05:00",
		[]string{"2027-03-14T03:00:00-04:00", "2027-03-15T02:30:00-04:00"}, []string{"gap", ""}},
	{"NY 2027 fall", "America/New_York", "30 1 * * *", "2027-11-06T12:00:00-04:00",
		[]string{"2027-11-07T01:30:00-04:00", "2027-11-08T01:30:00-05:00"}, []string{"first_of_two", ""}},
	{"NY daily at 09:00 keeps 09:00 local across the change", "America/New_York", "0 9 * * *", "2026-03-07T10:00:00-05:00",
		[]string{"2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"}, []string{"", ""}},

	// Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST, 2026-10-25 02:00 BST -> 01:00 GMT;
	// 2027-03-28 and 2027-10-31.
	{"London 2026 spring", "Europe/London", "30 1 * * *", "2026-03-28T12:00:00Z",
		[]string{"2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"}, []string{"gap", ""}},
	{"London 2026 fall, fixed hour", "Europe/London", "15 1 * * *", "2026-10-24T12:00:00+01:00",
		[]string{"2026-10-25T01:15:00+01:00", "2026-10-26T01:15:00Z"}, []string{"first_of_two", ""}},
	{"London 2026 fall, every hour", "Europe/London", "15 * * * *", "2026-10-25T00:30:00+01:00",
		[]string{"2026-10-25T01:15:00+01:00", "2026-10-25T01:15:00Z", "2026-10-25T02:15:00Z"}, []string{"both_first", "both_second", ""}},
	{"London 2027 spring", "Europe/London", "0 1 * * *", "2027-03-27T12:00:00Z",
		[]string{"2027-03-28T02:00:00+01:00", "2027-03-29T01:00:00+01:00"}, []string{"gap", ""}},
	{"London 2027 fall", "Europe/London", "0 1 * * *", "2027-10-30T12:00:00+01:00",
		[]string{"2027-10-31T01:00:00+01:00", "2027-11-01T01:00:00Z"}, []string{"first_of_two", ""}},

	// Australia/Lord_Howe, a 30-minute DST: 2026-04-05 02:00 +11 -> 01:30 +10:30,
	// 2026-10-04 02:00 +10:30 -> 02:30 +11; 2027-04-04 and 2027-10-03.
	{"Lord Howe 2026 fall, fixed hour once", "Australia/Lord_Howe", "45 1 * * *", "2026-04-04T12:00:00+11:00",
		[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}, []string{"first_of_two", ""}},
	{"Lord Howe 2026 fall, every 15 minutes", "Australia/Lord_Howe", "*/15 * * * *", "2026-04-05T01:20:00+11:00",
		[]string{"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30",
			"2026-04-05T01:45:00+10:30", "2026-04-05T02:00:00+10:30"},
		[]string{"both_first", "both_first", "both_second", "both_second", ""}},
	{"Lord Howe 2026 spring, 02:15 in the gap", "Australia/Lord_Howe", "15 2 * * *", "2026-10-03T12:00:00+10:30",
		[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}, []string{"gap", ""}},
	{"Lord Howe 2027 fall", "Australia/Lord_Howe", "40 1 * * *", "2027-04-03T12:00:00+11:00",
		[]string{"2027-04-04T01:40:00+11:00", "2027-04-05T01:40:00+10:30"}, []string{"first_of_two", ""}},
	{"Lord Howe 2027 spring", "Australia/Lord_Howe", "0 2 * * *", "2027-10-02T12:00:00+10:30",
		[]string{"2027-10-03T02:30:00+11:00", "2027-10-04T02:00:00+11:00"}, []string{"gap", ""}},

	// Asia/Kathmandu: +05:45, no DST.
	{"Kathmandu 09:00", "Asia/Kathmandu", "0 9 * * *", "2026-06-01T00:00:00+05:45",
		[]string{"2026-06-01T09:00:00+05:45", "2026-06-02T09:00:00+05:45"}, []string{"", ""}},
	{"Kathmandu through March 2027", "Asia/Kathmandu", "30 2 * * *", "2027-03-13T12:00:00+05:45",
		[]string{"2027-03-14T02:30:00+05:45", "2027-03-15T02:30:00+05:45"}, []string{"", ""}},

	// Calendar rules.
	{"29 February only in leap years", "America/New_York", "0 0 29 2 *", "2026-01-01T00:00:00-05:00",
		[]string{"2028-02-29T00:00:00-05:00", "2032-02-29T00:00:00-05:00"}, []string{"", ""}},
	{"the 31st only in months that have one", "UTC", "0 0 31 * *", "2026-04-01T00:00:00Z",
		[]string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}, []string{"", "", ""}},
	{"day of month and day of week both restricted: either", "UTC", "0 0 13 * FRI", "2026-01-01T00:00:00Z",
		[]string{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"}, []string{"", "", "", ""}},
	{"day of week with a star day of month: both", "UTC", "0 0 * * MON-FRI", "2026-01-02T12:00:00Z",
		[]string{"2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"}, []string{"", ""}},
	{"seconds field", "UTC", "*/15 * * * * *", "2026-01-01T00:00:07Z",
		[]string{"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:45Z", "2026-01-01T00:01:00Z"}, []string{"", "", "", ""}},
	{"@monthly", "Europe/London", "@monthly", "2026-03-15T00:00:00Z",
		[]string{"2026-04-01T00:00:00+01:00", "2026-05-01T00:00:00+01:00"}, []string{"", ""}},
	{"7 is Sunday", "UTC", "0 12 * * 7", "2026-01-01T00:00:00Z",
		[]string{"2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"}, []string{"", ""}},
}

func TestCron_DSTAndCalendarRules(t *testing.T) {
	for _, c := range cronCases {
		t.Run(c.name, func(t *testing.T) {
			tt := cronTT(t, c.expr, c.zone)
			at := mustTime(t, c.after)
			var got []time.Time
			for i, w := range c.want {
				o := tt.NextOccurrence(at)
				if !o.At.Equal(mustTime(t, w)) || o.DST != c.dst[i] {
					t.Fatalf("occurrence %d after %s: got %s (dst %q), want %s (dst %q)", i+1,
						at.In(tt.Loc).Format(time.RFC3339), o.At.In(tt.Loc).Format(time.RFC3339), o.DST, w, c.dst[i])
				}
				got = append(got, o.At)
				at = o.At
			}
			// Backwards, Last gives the same occurrences.
			for i := len(got) - 1; i > 0; i-- {
				if l := tt.Last(got[i].Add(-time.Second)); !l.Equal(got[i-1]) {
					t.Fatalf("Last(%s) = %s, want %s", got[i].Add(-time.Second).In(tt.Loc).Format(time.RFC3339),
						l.In(tt.Loc).Format(time.RFC3339), got[i-1].In(tt.Loc).Format(time.RFC3339))
				}
				if l := tt.Last(got[i]); !l.Equal(got[i]) {
					t.Fatalf("Last(%s) = %s, want itself", got[i].Format(time.RFC3339), l.Format(time.RFC3339))
				}
			}
			if n := tt.Count(got[0], got[len(got)-1].Add(time.Second)); n != int64(len(got)) {
				t.Fatalf("Count over the %d occurrences = %d", len(got), n)
			}
		})
	}
}

// referenceOccurrences applies the rules by their definition, minute by
// minute over [from, to): an instant fires when its wall-clock time matches
// and is not a repeat (unless every hour matches), or when it ends a gap in
// which some wall-clock time matched.
func referenceOccurrences(tt apicron.CronTimetable, match func(w time.Time) bool, allHours bool, from, to time.Time) []time.Time {
	wall := func(u time.Time) time.Time {
		l := u.In(tt.Loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	var out []time.Time
	for u := from; u.Before(to); u = u.Add(time.Minute) {
		w := wall(u)
		fires := false
		if match(w) {
			repeat := false
			for _, back := range []time.Duration{30 * time.Minute, time.Hour} {
				for v := u.Add(-2 * back); v.Before(u); v = v.Add(time.Minute) {
					if wall(v).Equal(w) {
						repeat = true
					}
				}
			}
			fires = !repeat || allHours
		}
		if _, o1 := u.Add(-time.Second).In(tt.Loc).Zone(); !fires {
			if _, o2 := u.In(tt.Loc).Zone(); o2 > o1 { // u ends a gap of civil times
				for c := wall(u.Add(-time.Second)).Add(time.Second); c.Before(w); c = c.Add(time.Minute) {
					if match(c) {
						fires = true
					}
				}
			}
		}
		if fires {
			out = append(out, u)
		}
	}
	return out
}

// TestCron_MatchesReference walks every minute of a few days around each
// DST change of 2026 and 2027 and compares Next, Last and Count with the
// rules applied by their definition.
func TestCron_MatchesReference(t *testing.T) {
	changes := map[string][]string{
		"America/New_York":    {"2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "2027-03-14T07:00:00Z", "2027-11-07T06:00:00Z"},
		"Europe/London":       {"2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2027-03-28T01:00:00Z", "2027-10-31T01:00:00Z"},
		"Australia/Lord_Howe": {"2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z", "2027-04-03T15:00:00Z", "2027-10-02T15:30:00Z"},
		"Asia/Kathmandu":      {"2026-03-01T00:00:00Z"},
	}
	type exprCase struct {
		expr     string
		match    func(w time.Time) bool
		allHours bool
	}
	exprs := []exprCase{
		{"30 2 * * *", func(w time.Time) bool { return w.Hour() == 2 && w.Minute() == 30 }, false},
		{"*/20 1,2 * * *", func(w time.Time) bool { return (w.Hour() == 1 || w.Hour() == 2) && w.Minute()%20 == 0 }, false},
		{"15,45 * * * *", func(w time.Time) bool { return w.Minute() == 15 || w.Minute() == 45 }, true},
		{"0 */2 * * *", func(w time.Time) bool { return w.Minute() == 0 && w.Hour()%2 == 0 }, false},
		{"*/7 * * * *", func(w time.Time) bool { return w.Minute()%7 == 0 }, true},
		{"0 0,1,3 * * *", func(w time.Time) bool { return w.Minute() == 0 && (w.Hour() <= 1 || w.Hour() == 3) }, false},
	}
	for zone, at := range changes {
		for _, change := range at {
			for _, e := range exprs {
				tt := cronTT(t, e.expr, zone)
				c := mustTime(t, change)
				from, to := c.Add(-26*time.Hour), c.Add(26*time.Hour)
				want := referenceOccurrences(tt, e.match, e.allHours, from, to)
				var got []time.Time
				for o := tt.Next(from.Add(-time.Second)); !o.IsZero() && o.Before(to); o = tt.Next(o) {
					got = append(got, o)
				}
				if !sameTimes(got, want) {
					t.Errorf("%s %q near %s: Next gives\n%s\nthe rules give\n%s", zone, e.expr, change, fmtTimes(got, tt.Loc), fmtTimes(want, tt.Loc))
					continue
				}
				var back []time.Time
				for o := tt.Last(to.Add(-time.Second)); !o.IsZero() && !o.Before(from); o = tt.Last(o.Add(-time.Second)) {
					back = append([]time.Time{o}, back...)
				}
				if !sameTimes(back, want) {
					t.Errorf("%s %q near %s: Last gives\n%s\nthe rules give\n%s", zone, e.expr, change, fmtTimes(back, tt.Loc), fmtTimes(want, tt.Loc))
				}
				if n := tt.Count(from, to); n != int64(len(want)) {
					t.Errorf("%s %q near %s: Count = %d, want %d", zone, e.expr, change, n, len(want))
				}
				// Last at an instant between occurrences is the one before it.
				for i := 1; i < len(want); i++ {
					mid := want[i-1].Add(want[i].Sub(want[i-1]) / 2).Truncate(time.Second)
					if l := tt.Last(mid); !l.Equal(want[i-1]) && !mid.Equal(want[i]) {
						t.Errorf("%s %q: Last(%s) = %s, want %s", zone, e.expr, mid.In(tt.Loc).Format(time.RFC3339), l.In(tt.Loc).Format(time.RFC3339), want[i-1].In(tt.Loc).Format(time.RFC3339))
					}
				}
			}
		}
	}
}

func sameTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func fmtTimes(ts []time.Time, loc *time.Location) string {
	var b strings.Builder
	for _, x := range ts {
		b.WriteString(x.In(loc).Format(time.RFC3339) + " ")
	}
	return b.String()
}

func TestCron_CountLongRanges(t *testing.T) {
	// Every second for 31 days across the 2026 fall back in New York: the
	// day of the change has 25 hours.
	tt := cronTT(t, "* * * * * *", "America/New_York")
	from := mustTime(t, "2026-10-15T00:00:00-04:00")
	to := mustTime(t, "2026-11-15T00:00:00-05:00")
	if n, want := tt.Count(from, to), int64(to.Sub(from)/time.Second); n != want {
		t.Fatalf("Count every second = %d, want %d", n, want)
	}
	// Daily at 02:30 over 2026 in New York: 365 days, the spring gap's fires at 03:00.
	tt = cronTT(t, "30 2 * * *", "America/New_York")
	if n := tt.Count(mustTime(t, "2026-01-01T00:00:00-05:00"), mustTime(t, "2027-01-01T00:00:00-05:00")); n != 365 {
		t.Fatalf("Count daily 02:30 over 2026 = %d, want 365", n)
	}
	// Hourly over 2026 in London: 8760 hours, the same count as elapsed hours.
	tt = cronTT(t, "0 * * * *", "Europe/London")
	if n := tt.Count(mustTime(t, "2026-01-01T00:00:00Z"), mustTime(t, "2027-01-01T00:00:00Z")); n != 8760 {
		t.Fatalf("Count hourly over 2026 = %d, want 8760", n)
	}
}

func TestParseCron_Errors(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"", "must have 5 fields"},
		{"* * * *", "must have 5 fields"},
		{"* * * * * * *", "must have 5 fields"},
		{"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
		{"* 24 * * *", "hour field \"24\": 24 is out of range 0-23"},
		{"* * 0 * *", "day of month field \"0\": 0 is out of range 1-31"},
		{"* * * 13 *", "month field \"13\": 13 is out of range 1-12"},
		{"* * * * 8", "day of week field \"8\": 8 is out of range 0-7"},
		{"* * * FOO *", "month field \"FOO\": \"FOO\" is neither a number from 1 to 12 nor a name (JAN-DEC)"},
		{"*/0 * * * *", "minute field \"*/0\": step \"0\" must be a positive integer"},
		{"5-1 * * * *", "minute field \"5-1\": range 5-1 ends before it starts"},
		{"1,,2 * * * *", "minute field \"1,,2\": empty item in list"},
		{"0 0 30 2 *", "never matches a date"},
		{"0 0 31 4,6,9,11 *", "never matches a date"},
		{"@every 5s", "unknown macro \"@every 5s\""},
		{"61 * * * * *", "second field \"61\": 61 is out of range 0-59"},
	} {
		_, err := apicron.ParseCron(c.expr)
		if err == nil {
			t.Errorf("ParseCron(%q) = nil error, want %q", c.expr, c.want)
			continue
		}
		var e *apicron.Error
		if !asError(err, &e) || e.Field != "cron_expression" || !strings.Contains(e.Message, c.want) {
			t.Errorf("ParseCron(%q) = %v, want cron_expression: ...%s...", c.expr, err, c.want)
		}
	}
	for _, ok := range []string{"0 0 29 2 *", "0 0 30 2 MON", "@yearly", "@ANNUALLY", "@hourly", "0 9 * * mon-fri",
		"0 0 1 jan,jul ?", "*/5 * * * * *", "0 0-23/6 * * *", "5/15 * * * *", "  0 9 * * 1  "} {
		if _, err := apicron.ParseCron(ok); err != nil {
			t.Errorf("ParseCron(%q): %v", ok, err)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		if _, err := apicron.LoadZone("timezone", ok); err != nil {
			t.Errorf("LoadZone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../../etc/passwd", strings.Repeat("A", 100)} {
		_, err := apicron.LoadZone("timezone", bad)
		var e *apicron.Error
		if !asError(err, &e) || e.Field != "timezone" {
			t.Errorf("LoadZone(%q) = %v, want an error on timezone", bad, err)
		}
	}
}

func asError(err error, target **apicron.Error) bool { return errors.As(err, target) }

// FuzzCron feeds ParseCron arbitrary expressions and zones. It must not
// panic; what it refuses it refuses on cron_expression; and for what it
// accepts, Next is strictly later, Last of it is itself, and nothing fires
// between an instant and its Next.
func FuzzCron(f *testing.F) {
	f.Add("30 2 * * *", "America/New_York", int64(1772953200))
	f.Add("*/15 * * * * *", "Australia/Lord_Howe", int64(1775314800))
	f.Add("0 0 29 2 *", "UTC", int64(0))
	f.Add("@weekly", "Asia/Kathmandu", int64(1800000000))
	f.Add("0 0 13 * FRI", "Europe/London", int64(1793000000))
	f.Fuzz(func(t *testing.T, expr, zone string, unix int64) {
		c, err := apicron.ParseCron(expr)
		if err != nil {
			var e *apicron.Error
			if !errors.As(err, &e) || e.Code != apicron.EINVALID || e.Field != "cron_expression" {
				t.Fatalf("ParseCron(%q) = %v, want an EINVALID on cron_expression", expr, err)
			}
			return
		}
		loc, err := apicron.LoadZone("timezone", zone)
		if err != nil {
			loc = time.UTC
		}
		at := time.Unix(unix%(4_000_000_000), 0) // 1843 to 2096
		tt := apicron.CronTimetable{Expr: c, Loc: loc}
		next := tt.Next(at)
		if next.IsZero() {
			return // nothing within the horizon
		}
		if !next.After(at) {
			t.Fatalf("%q in %s: Next(%s) = %s, not after it", expr, zone, at, next)
		}
		if l := tt.Last(next); !l.Equal(next) {
			t.Fatalf("%q in %s: Last(Next(%s)) = %s, want %s", expr, zone, at, l, next)
		}
		if l := tt.Last(next.Add(-time.Second)); l.After(at) {
			t.Fatalf("%q in %s: an occurrence %s lies between %s and its Next %s", expr, zone, l, at, next)
		}
		if n := tt.Count(at.Add(time.Second), next.Add(time.Second)); n != 1 && next.Sub(at) > time.Second {
			t.Fatalf("%q in %s: Count(%s, %s] = %d, want 1", expr, zone, at, next, n)
		}
	})
}
