package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// day is the d of a duration setting: 24 hours. Retention is counted in
// days; a day here is not a calendar day.
const day = 24 * time.Hour

// FormatDuration writes d as the duration settings are written, so that
// what --help and the logs print can be given back: days where they are
// exact and no zero units: 30d, 1d12h, 1h, 1m30s, 30s, 500ms, 0s.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return trimZeroUnits(d.String())
	}
	var s string
	if d >= day {
		s = strconv.FormatInt(int64(d/day), 10) + "d"
		if d %= day; d == 0 {
			return s
		}
	}
	return s + trimZeroUnits(d.String())
}

// trimZeroUnits drops the zero minutes and seconds time.Duration.String
// writes after a round number: 1h, not 1h0m0s; 2m, not 2m0s.
func trimZeroUnits(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseDuration parses a duration setting: a Go duration ("30s", "1m30s",
// "12h"), optionally led by a number of days ("30d", "1.5d", "1d12h"), or,
// with plainSeconds, a plain decimal number of seconds ("30", "0.5"), as
// the Python seed took DEFAULT_TIMEOUT.
func parseDuration(s string, plainSeconds bool) (time.Duration, error) {
	if plainSeconds && isDecimal(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, err
		}
		ns := math.Round(f * float64(time.Second))
		if ns >= math.MaxInt64 {
			return 0, errors.New("too large")
		}
		return time.Duration(ns), nil
	}
	days, rest, ok := strings.Cut(s, "d")
	if !ok || !isDecimal(days) {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseFloat(days, 64)
	if err != nil {
		return 0, err
	}
	ns := math.Round(n * float64(day))
	var extra time.Duration
	if rest != "" {
		if extra, err = time.ParseDuration(rest); err != nil {
			return 0, err
		}
		if extra < 0 {
			return 0, errors.New("negative")
		}
	}
	if ns+float64(extra) >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return time.Duration(ns) + extra, nil
}

// isDecimal reports whether s is digits with at most one decimal point, like
// "30", "0.5" or ".5"; ParseFloat alone would also take "1e3", "Inf" and hex.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}
