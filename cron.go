package apicron

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// MaxCronExpressionLength bounds cron_expression.
const MaxCronExpressionLength = 200

// CronExpr is a parsed cron expression: which seconds, minutes, hours,
// days of the month, months and weekdays match. Parse it with ParseCron;
// its occurrences in a time zone are a CronTimetable.
type CronExpr struct {
	second, minute uint64 // bits 0..59
	hour           uint32 // bits 0..23
	dom            uint32 // bits 1..31
	month          uint16 // bits 1..12
	dow            uint8  // bits 0..6, Sunday 0
	// domStar and dowStar say the field began with * (or ?). When both
	// day fields are restricted a day matching either one matches (the
	// Vixie cron rule); otherwise a day must match both.
	domStar, dowStar bool
}

// cronMacros are the @ forms and what they stand for.
var cronMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
}

var (
	fieldSecond = cronField{name: "second", min: 0, max: 59}
	fieldMinute = cronField{name: "minute", min: 0, max: 59}
	fieldHour   = cronField{name: "hour", min: 0, max: 23}
	fieldDom    = cronField{name: "day of month", min: 1, max: 31}
	fieldMonth  = cronField{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	// Day of week takes 0-7, both 0 and 7 being Sunday.
	fieldDow = cronField{name: "day of week", min: 0, max: 7,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
)

// ParseCron parses a cron expression: five fields (minute hour
// day-of-month month day-of-week), or six with a leading seconds field,
// or one of the macros @yearly, @annually, @monthly, @weekly, @daily,
// @midnight and @hourly. Each field is * or a comma list of values,
// ranges (a-b) and steps (*/n, a-b/n, a/n); months and weekdays also take
// names (JAN, MON). The error is an EINVALID on cron_expression saying
// which field is wrong and why.
func ParseCron(expr string) (*CronExpr, error) {
	if len(expr) > MaxCronExpressionLength {
		return nil, Invalid("cron_expression", "must be at most %d characters", MaxCronExpressionLength)
	}
	s := strings.TrimSpace(expr)
	if strings.HasPrefix(s, "@") {
		m, ok := cronMacros[strings.ToLower(s)]
		if !ok {
			return nil, Invalid("cron_expression", "unknown macro %q: use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly", s)
		}
		s = m
	}
	fields := strings.Fields(s)
	if len(fields) == 5 {
		fields = append([]string{"0"}, fields...)
	} else if len(fields) != 6 {
		return nil, Invalid("cron_expression", "must have 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field, got %d", len(fields))
	}
	var (
		c   CronExpr
		err error
		v   uint64
	)
	specs := []cronField{fieldSecond, fieldMinute, fieldHour, fieldDom, fieldMonth, fieldDow}
	for i, f := range specs {
		if v, err = f.parse(fields[i]); err != nil {
			return nil, Invalid("cron_expression", "%s field %q: %s", f.name, fields[i], err)
		}
		switch i {
		case 0:
			c.second = v
		case 1:
			c.minute = v
		case 2:
			c.hour = uint32(v)
		case 3:
			c.dom = uint32(v)
			c.domStar = isStar(fields[i])
		case 4:
			c.month = uint16(v)
		case 5:
			if v&(1<<7) != 0 {
				v = v&^(1<<7) | 1 // 7 is Sunday too
			}
			c.dow = uint8(v)
			c.dowStar = isStar(fields[i])
		}
	}
	if !c.canFire() {
		return nil, Invalid("cron_expression", "never matches a date: no month it names has the day of month it names")
	}
	return &c, nil
}

func isStar(f string) bool { return strings.HasPrefix(f, "*") || strings.HasPrefix(f, "?") }

// parse reads one field into a bit set.
func (f cronField) parse(s string) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty item in list")
		}
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q must be a positive integer", stepStr)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch rng {
		case "*", "?":
			if f.name == fieldDow.name {
				hi = 6 // * is each day once
			}
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			switch {
			case isRange:
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("range %s ends before it starts", rng)
				}
			case hasStep:
				hi = f.max // a/n: from a to the end
			default:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if f.names != nil {
			return 0, fmt.Errorf("%q is neither a number from %d to %d nor a name (%s-%s)", s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, f.min, f.max)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// daysIn is the most days each month can have (February in a leap year).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// canFire reports whether some date matches. Only a restricted day of
// month with an unrestricted weekday can fail (30 February): a restricted
// weekday occurs every week, and with both restricted either one suffices.
func (c *CronExpr) canFire() bool {
	if c.domStar || !c.dowStar {
		return true
	}
	for m := 1; m <= 12; m++ {
		mask := uint32(1)<<uint(daysIn[m]+1) - 2 // days 1..daysIn[m]
		if c.month&(1<<m) != 0 && c.dom&mask != 0 {
			return true
		}
	}
	return false
}

// allHours reports whether the hour field matches every hour, so that in a
// repeated hour (a DST fall back) the expression fires at each real hour.
func (c *CronExpr) allHours() bool { return c.hour == 1<<24-1 }

// perDay is how many times the expression fires on a matching day without a DST change.
func (c *CronExpr) perDay() int64 {
	return int64(bits.OnesCount64(c.second)) * int64(bits.OnesCount64(c.minute)) * int64(bits.OnesCount32(c.hour))
}

// cronCache holds parsed expressions by text, so that planning a claim does
// not parse each schedule's expression again. It is bounded: past
// maxCronCache entries expressions are parsed each time.
var cronCache sync.Map // string -> *CronExpr

const maxCronCache = 10_000

var cronCacheLen struct {
	sync.Mutex
	n int
}

// cachedCron returns the parsed expr, from the cache when it is there.
func cachedCron(expr string) (*CronExpr, error) {
	if c, ok := cronCache.Load(expr); ok {
		return c.(*CronExpr), nil
	}
	c, err := ParseCron(expr)
	if err != nil {
		return nil, err
	}
	cronCacheLen.Lock()
	if cronCacheLen.n < maxCronCache {
		if _, loaded := cronCache.LoadOrStore(expr, c); !loaded {
			cronCacheLen.n++
		}
	}
	cronCacheLen.Unlock()
	return c, nil
}
