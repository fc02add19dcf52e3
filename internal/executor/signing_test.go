package executor

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSigning: a target with two signing secrets (a rotation under way)
// sends requests that the Standard Webhooks reference verifier accepts under
// either secret and refuses under another; every attempt of one occurrence
// carries the same webhook-id and Idempotency-Key, and another occurrence
// other ones.
func TestSigning(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret, other := apicron.NewSigningSecret(), apicron.NewSigningSecret(), apicron.NewSigningSecret()
	verifier := func(s string) *standardwebhooks.Webhook {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	var (
		mu     sync.Mutex
		seen   []http.Header
		bodies [][]byte
		calls  int
	)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, bodies = append(seen, r.Header.Clone()), append(bodies, b)
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails: a retry follows
		}
	})
	e := New(Config{Sleep: func(context.Context, time.Duration) error { return nil }})
	job := newTestJob(srv.URL)
	job.Method, job.BodyTemplate, job.MaxRetries = "POST", `{"run": {{.RunID}}, "at": "{{.ScheduledAt}}"}`, 1
	job.SigningSecrets = []string{oldSecret, newSecret}
	res := execute(t, e, job, 5*time.Second)
	if res.Status != apicron.Success || len(res.Attempts) != 2 {
		t.Fatalf("%s after %d attempts, want SUCCESS after 2", res.Status, len(res.Attempts))
	}
	job2 := newTestJob(srv.URL)
	job2.ScheduledAt = job.ScheduledAt.Add(time.Minute)
	job2.SigningSecrets = []string{newSecret}
	execute(t, e, job2, 5*time.Second)

	mu.Lock()
	defer mu.Unlock()
	for i, h := range seen {
		for _, s := range job.SigningSecrets {
			if i == 2 && s == oldSecret {
				continue // the second occurrence is signed with the new secret only
			}
			if err := verifier(s).Verify(bodies[i], h); err != nil {
				t.Errorf("request %d: the reference verifier refuses it: %v", i, err)
			}
		}
		if err := verifier(other).Verify(bodies[i], h); err == nil {
			t.Errorf("request %d: verified under a secret it was not signed with", i)
		}
	}
	if seen[0].Get("Webhook-Id") != seen[1].Get("Webhook-Id") || seen[0].Get("Idempotency-Key") != seen[1].Get("Idempotency-Key") {
		t.Errorf("retry: webhook-id %q then %q, Idempotency-Key %q then %q; want the same", seen[0].Get("Webhook-Id"),
			seen[1].Get("Webhook-Id"), seen[0].Get("Idempotency-Key"), seen[1].Get("Idempotency-Key"))
	}
	if want := `"` + apicron.OccurrenceKey(job.ScheduleID, job.ScheduledAt) + `"`; seen[0].Get("Idempotency-Key") != want {
		t.Errorf("Idempotency-Key %q, want %q", seen[0].Get("Idempotency-Key"), want)
	}
	if seen[2].Get("Webhook-Id") == seen[0].Get("Webhook-Id") || seen[2].Get("Idempotency-Key") == seen[0].Get("Idempotency-Key") {
		t.Error("two occurrences share a key")
	}
	if seen[1].Get("X-Apicron-Attempt") != "2" {
		t.Errorf("X-Apicron-Attempt %q on the retry, want 2", seen[1].Get("X-Apicron-Attempt"))
	}
	// Tampered: the verifier refuses a changed body.
	if err := verifier(newSecret).Verify(append(bodies[0], ' '), seen[0]); err == nil {
		t.Error("a changed body still verifies")
	}
}

// TestIdempotencyKeyTheTargets: a target that sets its own Idempotency-Key keeps it.
func TestIdempotencyKeyTheTargets(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("Idempotency-Key") })
	job := newTestJob(srv.URL)
	job.Headers = map[string]string{"Idempotency-Key": "mine-{{.RunID}}"}
	execute(t, New(Config{}), job, 5*time.Second)
	if k := <-got; k != "mine-70" {
		t.Errorf("Idempotency-Key %q, want the target's", k)
	}
}
