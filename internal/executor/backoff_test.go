package executor

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		rnd        float64
		want       time.Duration
	}{
		{1, 0, 0, 250 * ms},
		{1, 0, 0.5, 375 * ms},
		{1, 0, 1, 500 * ms},
		{2, 0, 0, 500 * ms},
		{2, 0, 0.5, 750 * ms},
		{3, 0, 0, time.Second},
		{6, 0, 0.999, 16*time.Second - 8*ms},
		{7, 0, 0, 15 * time.Second}, // 32s capped to 30s
		{7, 0, 1, 30 * time.Second},
		{10, 0, 0.5, 22500 * ms},
		{63, 0, 1, 30 * time.Second},
		{1000, 0, 0, 15 * time.Second},
		{0, 0, 0, 250 * ms},  // treated as the first
		{-5, 0, 1, 500 * ms}, // likewise
		{1, 0, -1, 250 * ms}, // rnd clamped
		{1, 0, 7, 500 * ms},  // rnd clamped
		{1, 0, math.NaN(), 250 * ms},
		{1, 2 * time.Second, 0.5, 2 * time.Second}, // Retry-After is a minimum
		{7, 2 * time.Second, 0, 15 * time.Second},  // but not a maximum
		{1, 100 * ms, 0.5, 375 * ms},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempt, tt.retryAfter, tt.rnd); got != tt.want {
			t.Errorf("Backoff(%d, %s, %v) = %s, want %s", tt.attempt, tt.retryAfter, tt.rnd, got, tt.want)
		}
	}
}

func TestBackoff_Bounds(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 40; attempt++ {
		step := min(BackoffBase*time.Duration(math.Pow(2, float64(min(attempt-1, 20)))), BackoffCap)
		lo, hi := Backoff(attempt, 0, 0), Backoff(attempt, 0, math.Nextafter(1, 0))
		if lo != step/2 || hi > step || hi < lo {
			t.Errorf("attempt %d: range [%s, %s], want [%s, %s]", attempt, lo, hi, step/2, step)
		}
		if attempt > 1 && lo < Backoff(attempt-1, 0, 0) {
			t.Errorf("attempt %d: lower bound shrank", attempt)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"99999999999999999", MaxRetryAfter + time.Second, true},
		{"Wed, 01 Jan 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Wednesday, 01-Jan-25 12:01:00 GMT", time.Minute, true},
		{"Wed, 01 Jan 2025 11:00:00 GMT", 0, true}, // in the past: no wait
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s %v, want %s %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
