package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

var (
	keyA = bytes.Repeat([]byte{0xa1}, store.SecretKeySize)
	keyB = bytes.Repeat([]byte{0xb2}, store.SecretKeySize)
)

const (
	secretToken = "Bearer s3cret-token-value"
	secretSig   = "sig-s3cret-value"
	plainValue  = "plain-visible-value"
)

func rawHeaders(t *testing.T, driver, dsn string, id int64) string {
	t.Helper()
	return rawQuery(t, driver, dsn, fmt.Sprintf("SELECT headers FROM targets WHERE id = %d", id))
}

func checkClearHeaders(t *testing.T, what string, h map[string]string) {
	t.Helper()
	if h["Authorization"] != secretToken || h["X-Sig"] != secretSig || h["X-Plain"] != plainValue {
		t.Errorf("%s: headers %q, want the clear values", what, h)
	}
}

func TestStore_SecretHeadersEncrypted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: storetest.NewClock(t0), SecretKey: keyA})
		tg := mustCreateSecretTarget(t, db)
		other := mustCreateSecretTarget(t, db)

		raw := rawHeaders(t, driver, dsn, tg.ID)
		if strings.Contains(raw, "s3cret") || !strings.Contains(raw, plainValue) || strings.Count(raw, `"enc:v1:`) != 2 {
			t.Fatalf("stored headers %s: want both secret values encrypted, the other in clear", raw)
		}
		if rawOther := rawHeaders(t, driver, dsn, other.ID); rawOther == raw {
			t.Errorf("the same values encrypted twice gave the same ciphertexts: %s", raw)
		}

		got, err := db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkClearHeaders(t, "FindTargetByID", got.Headers)
		list, _, err := db.FindTargets(ctx, apicron.Page{})
		if err != nil || len(list) != 2 {
			t.Fatalf("FindTargets: %d %v", len(list), err)
		}
		checkClearHeaders(t, "FindTargets", list[0].Headers)

		// An update that sends the masks back keeps the secrets, still encrypted.
		up, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Name: ptr("renamed"), Headers: &map[string]string{
			"Authorization": apicron.MaskedValue, "X-Sig": apicron.MaskedValue, "X-Plain": plainValue}})
		if err != nil {
			t.Fatal(err)
		}
		checkClearHeaders(t, "UpdateTarget", up.Headers)
		if raw := rawHeaders(t, driver, dsn, tg.ID); strings.Contains(raw, "s3cret") || strings.Count(raw, `"enc:v1:`) != 2 {
			t.Fatalf("stored headers after update %s", raw)
		}

		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		res := mustClaim(t, db, t0, s.ID)
		if res.Job == nil || res.Job.DecryptError != "" {
			t.Fatalf("claim: %+v", res.Job)
		}
		checkClearHeaders(t, "claimed job", res.Job.Headers)

		// Dropping X-Sig from the secret headers stores its value in clear.
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{SecretHeaders: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		if raw := rawHeaders(t, driver, dsn, tg.ID); !strings.Contains(raw, secretSig) || strings.Contains(raw, "Bearer s3cret") {
			t.Fatalf("stored headers after X-Sig stopped being secret: %s", raw)
		}
	})
}

func TestStore_SecretHeadersClearTextLegacy(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateSecretTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		if raw := rawHeaders(t, driver, dsn, tg.ID); !strings.Contains(raw, secretToken) {
			t.Fatalf("without a key, stored headers %s: want clear text", raw)
		}
		db.Close()

		// The key is set later: the clear values still work...
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		got, err := db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkClearHeaders(t, "FindTargetByID", got.Headers)
		res := mustClaim(t, db, t0, s.ID)
		if res.Job == nil || res.Job.DecryptError != "" {
			t.Fatalf("claim: %+v", res.Job)
		}
		checkClearHeaders(t, "claimed job", res.Job.Headers)

		// ...and are encrypted the next time the target is written.
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Name: ptr("renamed")}); err != nil {
			t.Fatal(err)
		}
		if raw := rawHeaders(t, driver, dsn, tg.ID); strings.Contains(raw, "s3cret") || strings.Count(raw, `"enc:v1:`) != 2 {
			t.Fatalf("stored headers after the update %s: want the secrets encrypted", raw)
		}
		got, err = db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkClearHeaders(t, "FindTargetByID after update", got.Headers)
	})
}

func TestStore_SecretHeadersWrongKey(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		var hits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer srv.Close()
		exec := executor.New(executor.Config{})

		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		tg := &apicron.Target{Name: "t", URL: srv.URL, SecretHeaders: []string{"X-Sig"},
			Headers: map[string]string{"Authorization": secretToken, "X-Sig": secretSig, "X-Plain": plainValue}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		db.Close()

		for i, key := range [][]byte{keyB, nil} {
			name := map[int]string{0: "another key", 1: "no key"}[i]
			now := t0.Add(time.Duration(i) * 10 * time.Second)
			db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: key})

			// Reading works; the secrets are not there to show (the API masks them).
			got, err := db.FindTargetByID(ctx, tg.ID)
			if err != nil {
				t.Fatalf("%s: read target: %v", name, err)
			}
			if got.Headers["X-Plain"] != plainValue || strings.Contains(got.Headers["Authorization"], "s3cret") ||
				strings.Contains(got.Headers["X-Sig"], "s3cret") {
				t.Errorf("%s: read headers %q", name, got.Headers)
			}

			res := mustClaim(t, db, now, s.ID)
			job := res.Job
			const want = "secret headers Authorization, X-Sig cannot be decrypted: SECRET_KEY missing or wrong"
			if job == nil || job.DecryptError != want || job.Headers["Authorization"] != "" || job.Headers["X-Sig"] != "" ||
				job.Headers["X-Plain"] != plainValue {
				t.Fatalf("%s: claimed job %+v", name, job)
			}
			result := exec.Execute(ctx, job)
			if err := db.Finish(ctx, []apicron.RunResult{result}); err != nil {
				t.Fatal(err)
			}
			run, err := db.FindRunByID(ctx, job.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != apicron.Failed || run.ErrorType != apicron.ErrOther || run.ErrorMessage != want || len(run.Attempts) != 1 {
				t.Errorf("%s: run %s %s %q, %d attempts", name, run.Status, run.ErrorType, run.ErrorMessage, len(run.Attempts))
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("%s: the target got %d requests, want none", name, n)
			}

			// An edit that sends the masks back keeps the ciphertexts for the right key.
			if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Headers: &map[string]string{
				"Authorization": apicron.MaskedValue, "X-Sig": apicron.MaskedValue, "X-Plain": plainValue}}); err != nil {
				t.Fatalf("%s: update: %v", name, err)
			}
			// A ciphertext that cannot be decrypted cannot stop being secret.
			_, err = db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{SecretHeaders: &[]string{}})
			if apicron.ErrorCode(err) != apicron.EINVALID || !strings.Contains(apicron.ErrorMessage(err), "cannot be decrypted") {
				t.Errorf("%s: dropping X-Sig from the secret headers: %v", name, err)
			}
			db.Close()
		}

		// With the right key again, the secrets are intact.
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		got, err := db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkClearHeaders(t, "FindTargetByID with key A again", got.Headers)
		res := mustClaim(t, db, t0.Add(20*time.Second), s.ID)
		if res.Job == nil || res.Job.DecryptError != "" {
			t.Fatalf("claim with key A again: %+v", res.Job)
		}
		checkClearHeaders(t, "claimed job with key A again", res.Job.Headers)
	})
}

// TestStore_SecretHeadersBoundToName checks that a ciphertext moved to
// another header in the database does not decrypt there.
func TestStore_SecretHeadersBoundToName(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		tg := &apicron.Target{Name: "t", URL: "http://127.0.0.1:9/x", Headers: map[string]string{"Authorization": secretToken, "Cookie": "c=1"}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		db.Close()

		raw := rawHeaders(t, driver, dsn, tg.ID)
		stored := map[string]string{}
		for _, name := range []string{"Authorization", "Cookie"} {
			i := strings.Index(raw, `"`+name+`":"`)
			if i < 0 {
				t.Fatalf("stored headers %s lack %s", raw, name)
			}
			v := raw[i+len(name)+4:]
			stored[name] = v[:strings.IndexByte(v, '"')]
		}
		swapped := fmt.Sprintf(`{"Authorization":%q,"Cookie":%q}`, stored["Cookie"], stored["Authorization"])
		rawExec(t, driver, dsn, fmt.Sprintf("UPDATE targets SET headers = '%s' WHERE id = %d", swapped, tg.ID))

		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		res := mustClaim(t, db, t0, s.ID)
		if res.Job == nil || !strings.Contains(res.Job.DecryptError, "Authorization, Cookie cannot be decrypted") ||
			res.Job.Headers["Authorization"] != "" || res.Job.Headers["Cookie"] != "" {
			t.Fatalf("swapped ciphertexts: %+v", res.Job)
		}
	})
}

// TestStore_SecretHeadersQueued checks that a claimed run waiting in a shared
// PostgreSQL database holds no secret in clear, and that a node with another
// key fails the run instead of sending it.
func TestStore_SecretHeadersQueued(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		if driver != "postgres" {
			t.Skip("runs wait in the database only on a shared PostgreSQL database")
		}
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA, Shared: true, NodeID: "a"})
		other := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyB, Shared: true, NodeID: "b"})
		tg := mustCreateSecretTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})

		for i, node := range []*store.DB{db, other} {
			if res := mustClaim(t, db, t0.Add(time.Duration(i)*10*time.Second), s.ID); res.Job == nil {
				t.Fatalf("claim %d: no job", i)
			}
			job := rawQuery(t, driver, dsn, "SELECT job FROM runs WHERE status = 'RUNNING'")
			if job == "" || strings.Contains(job, "s3cret") || strings.Contains(job, plainValue) {
				t.Fatalf("queued job %s: want its headers encrypted", job)
			}
			jobs, err := node.TakeRuns(ctx, 10, 0)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("take runs: %d %v", len(jobs), err)
			}
			if node == db {
				if jobs[0].DecryptError != "" {
					t.Fatalf("taken job: %+v", jobs[0])
				}
				checkClearHeaders(t, "taken job", jobs[0].Headers)
			} else if !strings.Contains(jobs[0].DecryptError, "SECRET_KEY") || len(jobs[0].Headers) != 0 {
				t.Fatalf("job taken with another key: %+v", jobs[0])
			}
			r := apicron.RunResult{RunID: jobs[0].RunID, ScheduleID: s.ID, FinishedAt: t0,
				Outcome: apicron.Outcome{Status: apicron.Success}}
			if node == other {
				r = executor.New(executor.Config{}).Execute(ctx, jobs[0])
				if r.Status != apicron.Failed || r.ErrorMessage != jobs[0].DecryptError {
					t.Fatalf("result of a job taken with another key: %+v", r)
				}
			}
			if err := node.Finish(ctx, []apicron.RunResult{r}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestStore_OpenRefusesBadSecretKey(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{DSN: storetest.NewDSN(t, "sqlite"), SecretKey: []byte("short")})
	if err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("Open with a 5-byte key: %v", err)
	}
}

// TestStore_SecretKeyProblem: opening a database whose secret values were
// encrypted with another key, or with no key at all, says so (start-up log
// and /health read it); the right key, or no encrypted value, says nothing.
func TestStore_SecretKeyProblem(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		dsn := storetest.NewDSN(t, driver)
		ctx := context.Background()
		db := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: keyA})
		if p := db.SecretKeyProblem(ctx); p != "" {
			t.Fatalf("an empty database: %q", p)
		}
		plain := &apicron.Target{Name: "plain", URL: "http://127.0.0.1:9/", Headers: map[string]string{"X-Plain": "1"}}
		secret := &apicron.Target{Name: "secret", URL: "http://127.0.0.1:9/", Headers: map[string]string{"Authorization": "Bearer s3cret"}}
		signed := &apicron.Target{Name: "signed", URL: "http://127.0.0.1:9/", SigningSecrets: []string{apicron.NewSigningSecret()}}
		for _, tg := range []*apicron.Target{plain, secret, signed} {
			if err := db.CreateTarget(ctx, tg); err != nil {
				t.Fatal(err)
			}
		}
		mail := &apicron.Notifier{Name: "mail", Type: apicron.NotifierEmail, Email: &apicron.EmailSettings{Host: "smtp.example.com",
			Username: "u", Password: "p", From: "a@example.com", To: []string{"b@example.com"}}}
		if err := db.CreateNotifier(ctx, mail); err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, c := range []struct {
			name string
			key  []byte
			want string
		}{
			{"the same key", keyA, ""},
			{"another key", keyB, fmt.Sprintf("SECRET_KEY does not decrypt the secret values of 2 of the 2 targets that hold encrypted ones (target %d is one)", secret.ID)},
			{"another key", keyB, fmt.Sprintf("SECRET_KEY does not decrypt the secret values of 1 of the 1 notifiers that hold encrypted ones (notifier %d is one)", mail.ID)},
			{"no key", nil, fmt.Sprintf("SECRET_KEY is not set, but 2 targets hold secret values encrypted with one (target %d is one)", secret.ID)},
			{"no key", nil, fmt.Sprintf("SECRET_KEY is not set, but 1 notifiers hold secret values encrypted with one (notifier %d is one)", mail.ID)},
		} {
			db := storetest.OpenDSN(t, driver, dsn, store.Config{SecretKey: c.key})
			p := db.SecretKeyProblem(ctx)
			if (c.want == "") != (p == "") || !strings.Contains(p, c.want) {
				t.Errorf("%s: %q, want %q", c.name, p, c.want)
			}
			db.Close()
		}
	})
}

// A secret value that looks like a ciphertext is the client's value all the
// same: it is encrypted and sent exactly as given. It was stored in clear
// instead, taken for a value already encrypted, and then every run of its
// target failed as undecryptable; a genuine ciphertext copied from another
// target's row would have been decrypted into that target's secret.
func TestStore_SecretValueLikeCiphertext(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		got := make(chan string, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("Authorization") }))
		defer srv.Close()
		exec := executor.New(executor.Config{})
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})

		// sends checks that a run of tg sends Authorization: want.
		sends := func(what string, tg *apicron.Target, want string) {
			t.Helper()
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
			res := mustClaim(t, db, clock.Now(), s.ID)
			if res.Job == nil || res.Job.DecryptError != "" {
				t.Fatalf("%s: claimed job %+v", what, res.Job)
			}
			if r := exec.Execute(ctx, res.Job); r.Status != apicron.Success {
				t.Fatalf("%s: run %s %s", what, r.Status, r.ErrorMessage)
			}
			if a := <-got; a != want {
				t.Errorf("%s: the target got Authorization %q, want %q", what, a, want)
			}
		}
		// storedEncrypted checks that tg's row holds its Authorization value
		// encrypted (a ciphertext, not the value).
		storedEncrypted := func(what string, tg *apicron.Target, value string) {
			t.Helper()
			var h map[string]string
			raw := rawHeaders(t, driver, dsn, tg.ID)
			if err := json.Unmarshal([]byte(raw), &h); err != nil {
				t.Fatal(err)
			}
			// A nonce and a tag, 28 bytes, are 37 more characters in base64.
			if a := h["Authorization"]; a == value || !strings.HasPrefix(a, "enc:v1:") || len(a) < len(value)+37 {
				t.Errorf("%s: stored headers %s, want Authorization %q encrypted", what, raw, value)
			}
		}

		const lookalike = "enc:v1:abc"
		tg := &apicron.Target{Name: "t", URL: srv.URL, Headers: map[string]string{"Authorization": lookalike, "X-Plain": lookalike}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		storedEncrypted("created", tg, lookalike)
		if read, err := db.FindTargetByID(ctx, tg.ID); err != nil || read.Headers["Authorization"] != lookalike || read.Headers["X-Plain"] != lookalike {
			t.Fatalf("read back: %+v, %v", read, err)
		}
		sends("created", tg, lookalike)

		// Sent back as the mask, it stays; sent anew, it is encrypted anew.
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Headers: &map[string]string{"Authorization": apicron.MaskedValue}}); err != nil {
			t.Fatal(err)
		}
		storedEncrypted("masked", tg, lookalike)
		const other = "enc:v1:def"
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Headers: &map[string]string{"Authorization": other}}); err != nil {
			t.Fatal(err)
		}
		storedEncrypted("updated", tg, other)
		sends("updated", tg, other)

		// A ciphertext copied from another target's row is sent as the text it is.
		victim := mustCreateSecretTarget(t, db)
		raw := rawHeaders(t, driver, dsn, victim.ID)
		i := strings.Index(raw, `"Authorization":"`)
		if i < 0 {
			t.Fatalf("stored headers %s lack Authorization", raw)
		}
		copied := raw[i+len(`"Authorization":"`):]
		copied = copied[:strings.IndexByte(copied, '"')]
		thief := &apicron.Target{Name: "thief", URL: srv.URL, Headers: map[string]string{"Authorization": copied}}
		if err := db.CreateTarget(ctx, thief); err != nil {
			t.Fatal(err)
		}
		storedEncrypted("copied", thief, copied)
		sends("copied", thief, copied)
		db.Close()

		// Without a key nothing is encrypted, and such a value would be read
		// as a ciphertext: it is refused, and changes nothing.
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		err := db.CreateTarget(ctx, &apicron.Target{Name: "t", URL: srv.URL, Headers: map[string]string{"Authorization": lookalike}})
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "headers.Authorization" ||
			!strings.Contains(apicron.ErrorMessage(err), "SECRET_KEY") {
			t.Errorf("without a key, a secret value like a ciphertext: %v", err)
		}
		if _, n, err := db.FindTargets(ctx, apicron.Page{}); err != nil || n != 3 {
			t.Errorf("targets after the refusal: %d, %v", n, err)
		}
		// The ciphertext this store cannot decrypt is kept by the mask, as before.
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Headers: &map[string]string{"Authorization": apicron.MaskedValue}}); err != nil {
			t.Errorf("without a key, an update that keeps a ciphertext: %v", err)
		}
	})
}

// TestStore_SigningSecretsEncrypted: signing secrets are stored encrypted
// with a key, read back in clear, kept through an update that sends their
// masks, and reach the claimed job (and, without the key, fail the run
// instead of sending it unsigned).
func TestStore_SigningSecretsEncrypted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		secret := apicron.NewSigningSecret()
		tg := &apicron.Target{Name: "t", URL: "https://example.com/", SigningSecrets: []string{secret}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		raw := rawQuery(t, driver, dsn, fmt.Sprintf("SELECT signing_secrets FROM targets WHERE id = %d", tg.ID))
		if strings.Contains(raw, secret[6:]) || strings.Count(raw, `"enc:v1:`) != 1 {
			t.Fatalf("stored signing secrets %s: want one, encrypted", raw)
		}
		next := apicron.NewSigningSecret()
		up, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{SigningSecrets: &[]string{next, apicron.MaskSigningSecret(secret)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(up.SigningSecrets) != 2 || up.SigningSecrets[0] != next || up.SigningSecrets[1] != secret {
			t.Fatalf("after a rotation's first step: %d secrets, want the new and the kept one", len(up.SigningSecrets))
		}
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		res := mustClaim(t, db, t0, s.ID)
		if res.Job == nil || len(res.Job.SigningSecrets) != 2 || res.Job.SigningSecrets[1] != secret || res.Job.DecryptError != "" {
			t.Fatalf("claimed job: %+v", res.Job)
		}
		if err := db.Finish(ctx, []apicron.RunResult{{RunID: res.Job.RunID, ScheduleID: s.ID, Outcome: apicron.Outcome{Status: apicron.Success}}}); err != nil {
			t.Fatal(err)
		}
		db.Close()

		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock}) // the key is gone
		res = mustClaim(t, db, t0.Add(10*time.Second), s.ID)
		if res.Job == nil || len(res.Job.SigningSecrets) != 0 || !strings.Contains(res.Job.DecryptError, "signing secret") {
			t.Fatalf("claimed without the key: %+v, want no secrets and a decrypt error", res.Job)
		}
	})
}
