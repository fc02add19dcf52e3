package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// TestRetryPolicy: a target's retry_on says which failures are retried,
// and its backoff's first step and cap shape the waits, with Retry-After a
// floor; against real loopback servers.
func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	serve := func(code int, retryAfter string) (*atomic.Int64, string) {
		var n atomic.Int64
		srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(code)
		})
		return &n, srv.URL
	}
	cases := []struct {
		name       string
		code       int
		retryAfter string
		on         []string
		base, most time.Duration
		requests   int64
		waits      []time.Duration // rnd 1: each wait is its whole step
	}{
		{"default retries a 503", 503, "", nil, 0, 0, 4, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"default leaves a 404", 404, "", nil, 0, 0, 1, nil},
		{"retry_on http_4xx retries a 404", 404, "", []string{apicron.RetryHTTP4xx}, 0, 0, 4, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"retry_on [] retries nothing", 503, "", []string{}, 0, 0, 1, nil},
		{"retry_on without http_5xx", 503, "", []string{apicron.RetryTimeout}, 0, 0, 1, nil},
		{"base and cap", 503, "", nil, 100 * time.Millisecond, 250 * time.Millisecond, 4, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}},
		{"Retry-After is a floor", 429, "7", nil, 100 * time.Millisecond, time.Second, 4, []time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, url := serve(c.code, c.retryAfter)
			fs := newFakeSleep()
			e := New(Config{Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 1 }})
			job := newTestJob(url)
			job.MaxRetries, job.RetryOn, job.BackoffBase, job.BackoffCap = 3, c.on, c.base, c.most
			execute(t, e, job, 5*time.Second)
			if n.Load() != c.requests {
				t.Errorf("%d requests, want %d", n.Load(), c.requests)
			}
			if got := fs.Waits(); len(got) != len(c.waits) {
				t.Errorf("waits %v, want %v", got, c.waits)
			} else {
				for i := range got {
					if got[i] != c.waits[i] {
						t.Errorf("waits %v, want %v", got, c.waits)
						break
					}
				}
			}
		})
	}
}

func TestRetryClass(t *testing.T) {
	t.Parallel()
	code := func(c int) *int { return &c }
	for _, c := range []struct {
		o    apicron.Outcome
		want string
	}{
		{apicron.Outcome{Status: apicron.Timeout}, apicron.RetryTimeout},
		{apicron.Outcome{Status: apicron.ConnectionError, ErrorType: apicron.ErrConnection}, apicron.RetryConnection},
		{apicron.Outcome{Status: apicron.ConnectionError, ErrorType: apicron.ErrTLS}, apicron.RetryTLS},
		{apicron.Outcome{Status: apicron.DNSError}, apicron.RetryDNS},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHTTP5xx, StatusCode: code(502)}, apicron.RetryHTTP5xx},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHTTP4xx, StatusCode: code(429)}, apicron.RetryHTTP429},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHTTP4xx, StatusCode: code(400)}, apicron.RetryHTTP4xx},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrAssertion}, apicron.RetryAssertion},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrBlocked}, ""},
		{apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrTemplate}, ""},
		{apicron.Outcome{Status: apicron.Success}, ""},
	} {
		if got := apicron.RetryClass(&c.o); got != c.want {
			t.Errorf("%s %s: class %q, want %q", c.o.Status, c.o.ErrorType, got, c.want)
		}
	}
}

// TestRetryPaced: with Job.Pace set, each retry, and only a retry, waits
// for it after its backoff; the waits add up in the result's Waited, and a
// retry whose turn does not come ends the retries.
func TestRetryPaced(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	fs := newFakeSleep()
	e := New(Config{Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 1 }})
	job := newTestJob(srv.URL)
	job.MaxRetries = 3
	var paced []int64 // the requests sent when each Pace was called
	job.Pace = func(context.Context) (time.Duration, bool) {
		paced = append(paced, requests.Load())
		return 250 * time.Millisecond, len(paced) < 3 // the third retry gets no turn
	}
	res := execute(t, e, job, 5*time.Second)
	if requests.Load() != 3 || len(res.Attempts) != 3 {
		t.Errorf("%d requests, %d attempts; want 3: the first and two paced retries", requests.Load(), len(res.Attempts))
	}
	if !slices.Equal(paced, []int64{1, 2, 3}) {
		t.Errorf("Pace called after requests %v, want before each retry [1 2 3]", paced)
	}
	if res.Waited != 750*time.Millisecond {
		t.Errorf("Waited %s, want the three paces, 750ms", res.Waited)
	}
}

// TestRetryFenced: with Job.Fence set, each retry, and only a retry, asks
// it after its backoff (and its pace); a refusal ends the retries, with the
// result of the attempts already made.
func TestRetryFenced(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	fs := newFakeSleep()
	e := New(Config{Now: fs.Now, Sleep: fs.Sleep, Rand: func() float64 { return 1 }})
	job := newTestJob(srv.URL)
	job.MaxRetries = 5
	var order []string
	job.Pace = func(context.Context) (time.Duration, bool) {
		order = append(order, fmt.Sprint("pace after ", requests.Load()))
		return 0, true
	}
	job.Fence = func(context.Context) error {
		order = append(order, fmt.Sprint("fence after ", requests.Load()))
		if requests.Load() == 2 {
			return errors.New("reaped")
		}
		return nil
	}
	res := execute(t, e, job, 5*time.Second)
	if requests.Load() != 2 || len(res.Attempts) != 2 || res.Status != apicron.Failed {
		t.Errorf("%d requests, %d attempts, %s; want 2, the second FAILED: a refused fence ends the retries", requests.Load(), len(res.Attempts), res.Status)
	}
	if want := "HTTP 503; no retry: reaped"; !strings.HasSuffix(res.ErrorMessage, "no retry: reaped") {
		t.Errorf("the run's error message %q, want it to end as %q: a refused fence says why the retries stopped", res.ErrorMessage, want)
	}
	if want := []string{"pace after 1", "fence after 1", "pace after 2", "fence after 2"}; !slices.Equal(order, want) {
		t.Errorf("calls %v, want %v", order, want)
	}
}
