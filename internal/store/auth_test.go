package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

const oauth2Secret = "oauth-s3cret-value"

func authTarget(t *testing.T) *apicron.Target {
	cert, key := storetest.ClientCertPair(t, "store-test")
	return &apicron.Target{Name: "t", URL: "https://example.com/",
		OAuth2: &apicron.OAuth2{TokenURL: "https://auth.example.com/token", ClientID: "reporter", ClientSecret: oauth2Secret,
			Scopes: []string{"a", "b"}, Audience: "https://api.example.com"},
		ClientCert: &apicron.ClientCert{CertPEM: cert, KeyPEM: key}}
}

// keyBody is the base64 body of a PEM key, which a ciphertext must not hold.
func keyBody(key string) string { return strings.Split(key, "\n")[1] }

// TestStore_TargetAuthEncrypted: with a key, an OAuth2 client secret and a
// client certificate's key are ciphertext in the row, read back in clear,
// kept through an update that sends their masks, dropped by a removal, and
// reach the claimed job; without the key the run fails unsent.
func TestStore_TargetAuthEncrypted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA})
		tg := authTarget(t)
		want := *tg.ClientCert
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		row := func() string {
			return rawQuery(t, driver, dsn, fmt.Sprintf("SELECT oauth2 || ' ' || client_cert FROM targets WHERE id = %d", tg.ID))
		}
		raw := row()
		if strings.Contains(raw, oauth2Secret) || strings.Contains(raw, keyBody(want.KeyPEM)) || strings.Count(raw, `"enc:v1:`) != 2 ||
			!strings.Contains(raw, "auth.example.com") || !strings.Contains(raw, "BEGIN CERTIFICATE") {
			t.Fatalf("stored %s: want the client secret and the key encrypted, the rest in clear", raw)
		}

		got, err := db.FindTargetByID(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.OAuth2 == nil || got.OAuth2.ClientSecret != oauth2Secret || got.OAuth2.Audience != "https://api.example.com" ||
			len(got.OAuth2.Scopes) != 2 || got.ClientCert == nil || *got.ClientCert != want {
			t.Fatalf("read back: %+v %+v", got.OAuth2, got.ClientCert)
		}

		// The masks sent back keep both secrets, still encrypted.
		masked := tg.OAuth2.Masked()
		masked.Scopes = []string{"c"}
		maskedCert := &apicron.ClientCert{CertPEM: want.CertPEM, KeyPEM: apicron.MaskedValue}
		up, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{
			Auth: &apicron.TargetAuth{Type: apicron.AuthOAuth2, OAuth2: masked}, ClientCert: &maskedCert})
		if err != nil {
			t.Fatal(err)
		}
		if up.OAuth2.ClientSecret != oauth2Secret || up.OAuth2.Scopes[0] != "c" || up.ClientCert.KeyPEM != want.KeyPEM {
			t.Fatalf("after the masks were sent back: %+v", up)
		}
		if raw := row(); strings.Contains(raw, oauth2Secret) || strings.Count(raw, `"enc:v1:`) != 2 {
			t.Fatalf("stored after update %s", raw)
		}

		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		res := mustClaim(t, db, t0, s.ID)
		if j := res.Job; j == nil || j.DecryptError != "" || j.OAuth2 == nil || j.OAuth2.ClientSecret != oauth2Secret ||
			j.ClientCert == nil || j.ClientCert.KeyPEM != want.KeyPEM {
			t.Fatalf("claimed job: %+v", res.Job)
		}
		j, err := db.TargetJob(ctx, tg.ID)
		if err != nil || j.OAuth2 == nil || j.ClientCert == nil {
			t.Fatalf("target job: %+v %v", j, err)
		}
		if err := db.Finish(ctx, []apicron.RunResult{{RunID: res.Job.RunID, ScheduleID: s.ID, Outcome: apicron.Outcome{Status: apicron.Success}}}); err != nil {
			t.Fatal(err)
		}
		db.Close()

		// Without the key: the run fails unsent, and the target still reads,
		// its secrets kept sealed through an update that sends the masks.
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		res = mustClaim(t, db, t0.Add(10*time.Second), s.ID)
		if j := res.Job; j == nil || j.OAuth2 != nil || j.ClientCert != nil ||
			!strings.Contains(j.DecryptError, "oauth2 client secret") || !strings.Contains(j.DecryptError, "client certificate's key") {
			t.Fatalf("claimed without the key: %+v", res.Job)
		}
		before := row()
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Name: ptr("renamed"),
			Auth: &apicron.TargetAuth{Type: apicron.AuthOAuth2, OAuth2: masked}, ClientCert: &maskedCert}); err != nil {
			t.Fatalf("update without the key, masks sent back: %v", err)
		}
		if after := row(); after != before {
			t.Fatalf("the sealed secrets changed: %s, was %s", after, before)
		}
		// A client's value that looks like a ciphertext is refused.
		sealedLike := *masked
		sealedLike.ClientSecret = "enc:v1:AAAA"
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{
			Auth: &apicron.TargetAuth{Type: apicron.AuthOAuth2, OAuth2: &sealedLike}}); apicron.ErrorCode(err) != apicron.EINVALID {
			t.Fatalf("a client secret like a ciphertext: %v, want EINVALID", err)
		}

		// Removing both.
		var none *apicron.ClientCert
		up, err = db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{Auth: &apicron.TargetAuth{Type: apicron.AuthNone}, ClientCert: &none})
		if err != nil || up.OAuth2 != nil || up.ClientCert != nil {
			t.Fatalf("removed: %+v %v", up, err)
		}
		if raw := row(); raw != " " {
			t.Fatalf("stored after the removal %q, want both empty", raw)
		}
	})
}

// TestStore_TargetAuthQueued: a run queued in a shared PostgreSQL database
// holds neither the client secret nor the key in clear; the node with the
// key gets both, a node with another key fails the run.
func TestStore_TargetAuthQueued(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		if driver != "postgres" {
			t.Skip("runs wait in the database only on a shared PostgreSQL database")
		}
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyA, Shared: true, NodeID: "a"})
		other := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock, SecretKey: keyB, Shared: true, NodeID: "b"})
		tg := authTarget(t)
		key := tg.ClientCert.KeyPEM
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		for i, node := range []*store.DB{db, other} {
			if res := mustClaim(t, db, t0.Add(time.Duration(i)*10*time.Second), s.ID); res.Job == nil {
				t.Fatalf("claim %d: no job", i)
			}
			job := rawQuery(t, driver, dsn, "SELECT job FROM runs WHERE status = 'RUNNING'")
			if job == "" || strings.Contains(job, oauth2Secret) || strings.Contains(job, keyBody(key)) || !strings.Contains(job, "auth.example.com") {
				t.Fatalf("queued job %s: want the client secret and the key encrypted", job)
			}
			jobs, err := node.TakeRuns(ctx, 10, 0)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("take runs: %d %v", len(jobs), err)
			}
			j := jobs[0]
			if node == db && (j.DecryptError != "" || j.OAuth2 == nil || j.OAuth2.ClientSecret != oauth2Secret || j.ClientCert == nil || j.ClientCert.KeyPEM != key) {
				t.Fatalf("taken job: %+v", j)
			}
			if node == other && (j.OAuth2 != nil || j.ClientCert != nil || !strings.Contains(j.DecryptError, "not the claiming node's")) {
				t.Fatalf("job taken with another key: %+v", j)
			}
			if err := node.Finish(ctx, []apicron.RunResult{{RunID: j.RunID, ScheduleID: s.ID, FinishedAt: t0,
				Outcome: apicron.Outcome{Status: apicron.Failed}}}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
