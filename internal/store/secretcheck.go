package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// secretCheckTargets bounds how many targets with encrypted values the
// start-up check reads.
const secretCheckTargets = 1000

// checkSecretKey reads the secret values stored encrypted (targets'
// secret headers, signing secrets, OAuth2 client secrets and client
// certificate keys; notifiers' passwords, slack URLs and signing secrets) and
// records whether this store's SECRET_KEY opens them (see SecretKeyProblem).
// A missing or wrong key is otherwise silent until every run of those
// targets fails, undecryptable, or every alert to those notifiers; the
// check makes it a message at start and on /health.
func (db *DB) checkSecretKey(ctx context.Context) error {
	like := "%" + sealedPrefix + "%"
	targets, err := db.countSealed(ctx, "SELECT "+targetColumns+" FROM targets WHERE headers LIKE ? OR signing_secrets LIKE ? "+
		"OR oauth2 LIKE ? OR client_cert LIKE ? ORDER BY id LIMIT ?", []any{like, like, like, like, secretCheckTargets},
		func(rows *sql.Rows) (int64, bool, bool) {
			t, err := scanTargetRow(rows)
			if err != nil || !hasSealedSecret(t) {
				return 0, false, false // a row it cannot read is not this check's to judge: reading the target says what is wrong
			}
			return t.ID, true, !db.opensTarget(t)
		})
	if err != nil {
		return fmt.Errorf("read the encrypted target secrets: %w", err)
	}
	notifiers, err := db.countSealed(ctx, "SELECT "+notifierColumns+" FROM notifiers WHERE url LIKE ? OR signing_secrets LIKE ? "+
		"OR password LIKE ? ORDER BY id LIMIT ?", []any{like, like, like, secretCheckTargets},
		func(rows *sql.Rows) (int64, bool, bool) {
			n, sealed, err := db.scanNotifier(rows)
			if err != nil {
				return 0, false, false
			}
			return n.ID, true, sealed
		})
	if err != nil {
		return fmt.Errorf("read the encrypted notifier secrets: %w", err)
	}
	var problems []string
	for _, c := range []struct {
		what string
		n    sealedCount
	}{{"targets", targets}, {"notifiers", notifiers}} {
		switch {
		case c.n.failed == 0:
		case db.secrets == nil:
			problems = append(problems, fmt.Sprintf("SECRET_KEY is not set, but %d %s hold secret values encrypted with one "+
				"(%s %d is one): they fail until SECRET_KEY is the key they were encrypted with", c.n.failed, c.what,
				strings.TrimSuffix(c.what, "s"), c.n.first))
		default:
			problems = append(problems, fmt.Sprintf("SECRET_KEY does not decrypt the secret values of %d of the %d %s that hold "+
				"encrypted ones (%s %d is one): it is not the key they were encrypted with, and they fail until it is "+
				"or their secret values are sent again", c.n.failed, c.n.encrypted, c.what, strings.TrimSuffix(c.what, "s"), c.n.first))
		}
	}
	db.secretMu.Lock()
	db.secretProblem, db.secretChecked = strings.Join(problems, "; "), time.Now()
	db.secretMu.Unlock()
	return nil
}

// sealedCount is what checkSecretKey found of one kind of row.
type sealedCount struct {
	encrypted, failed int
	first             int64
}

// countSealed runs q and judges each row with judge: its id, whether it
// holds an encrypted value, and whether one of them does not open.
func (db *DB) countSealed(ctx context.Context, q string, args []any, judge func(*sql.Rows) (id int64, encrypted, failed bool)) (sealedCount, error) {
	var c sealedCount
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		id, enc, failed := judge(rows)
		if !enc {
			continue
		}
		c.encrypted++
		if failed {
			if c.failed == 0 {
				c.first = id
			}
			c.failed++
		}
	}
	return c, rows.Err()
}

// opensTarget reports whether this store's key opens every encrypted value of t.
func (db *DB) opensTarget(t *apicron.Target) bool {
	if db.secrets == nil {
		return false
	}
	if len(db.secrets.openHeaders(t)) > 0 || !db.secrets.openSigning(t.SigningSecrets) {
		return false
	}
	if t.OAuth2 != nil {
		if _, ok := db.secrets.openSecret(t.OAuth2.ClientSecret, oauth2SecretAD); !ok {
			return false
		}
	}
	if t.ClientCert != nil {
		if _, ok := db.secrets.openSecret(t.ClientCert.KeyPEM, clientKeyAD); !ok {
			return false
		}
	}
	return true
}

// hasSealedSecret reports whether t holds a secret value stored encrypted.
func hasSealedSecret(t *apicron.Target) bool {
	for name, v := range t.Headers {
		if isSealed(v) && t.IsSecretHeader(name) {
			return true
		}
	}
	for _, v := range t.SigningSecrets {
		if isSealed(v) {
			return true
		}
	}
	return (t.OAuth2 != nil && isSealed(t.OAuth2.ClientSecret)) || (t.ClientCert != nil && isSealed(t.ClientCert.KeyPEM))
}

// secretRecheck is how often SecretKeyProblem reads the stored secrets
// again while they do not open, so that sending new values (or deleting
// the targets) clears the problem without a restart.
const secretRecheck = 10 * time.Second

// SecretKeyProblem says that SECRET_KEY is missing or is not the key the
// stored secret header values were encrypted with (their targets' runs then
// fail); "" when the key opens them or none is stored encrypted. It is found
// when the store opens and, while there is a problem, read again at most
// every secretRecheck. Only the first secretCheckTargets such targets are read.
func (db *DB) SecretKeyProblem(ctx context.Context) string {
	db.secretMu.Lock()
	problem, stale := db.secretProblem, time.Since(db.secretChecked) > secretRecheck
	db.secretMu.Unlock()
	if problem == "" || !stale {
		return problem
	}
	if err := db.checkSecretKey(ctx); err != nil {
		return problem // the last finding stands; the database's own trouble is Ping's to report
	}
	db.secretMu.Lock()
	defer db.secretMu.Unlock()
	return db.secretProblem
}
