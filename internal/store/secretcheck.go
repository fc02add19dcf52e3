package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apicron/apicron"
)

// secretCheckTargets bounds how many targets with encrypted values the
// start-up check reads.
const secretCheckTargets = 1000

// checkSecretKey reads the secret header values stored encrypted and
// records whether this store's SECRET_KEY opens them (see SecretKeyProblem).
// A missing or wrong key is otherwise silent until every run of those
// targets fails, undecryptable; the check makes it a message at start and
// on /health.
func (db *DB) checkSecretKey(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, db.d.rebind("SELECT id, headers, secret_headers FROM targets WHERE headers LIKE ? ORDER BY id LIMIT ?"),
		"%"+sealedPrefix+"%", secretCheckTargets)
	if err != nil {
		return fmt.Errorf("read the encrypted secret headers: %w", err)
	}
	defer rows.Close()
	var encrypted, failed int
	var first int64
	for rows.Next() {
		var headers, secret string
		t := apicron.Target{}
		if err := rows.Scan(&t.ID, &headers, &secret); err != nil {
			return err
		}
		if json.Unmarshal([]byte(headers), &t.Headers) != nil || json.Unmarshal([]byte(secret), &t.SecretHeaders) != nil {
			continue // not this check's to judge; reading the target says what is wrong
		}
		if !hasSealedSecret(&t) {
			continue
		}
		encrypted++
		if db.secrets == nil || len(db.secrets.openHeaders(&t)) > 0 {
			if failed == 0 {
				first = t.ID
			}
			failed++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	problem := ""
	switch {
	case failed == 0:
	case db.secrets == nil:
		problem = fmt.Sprintf("SECRET_KEY is not set, but %d targets hold secret header values encrypted with one "+
			"(target %d is one): their runs fail until SECRET_KEY is the key they were encrypted with", failed, first)
	default:
		problem = fmt.Sprintf("SECRET_KEY does not decrypt the secret header values of %d of the %d targets that hold "+
			"encrypted ones (target %d is one): it is not the key they were encrypted with, and their runs fail until it is "+
			"or their secret values are sent again", failed, encrypted, first)
	}
	db.secretMu.Lock()
	db.secretProblem, db.secretChecked = problem, time.Now()
	db.secretMu.Unlock()
	return nil
}

// hasSealedSecret reports whether t holds a secret header value stored encrypted.
func hasSealedSecret(t *apicron.Target) bool {
	for name, v := range t.Headers {
		if isSealed(v) && t.IsSecretHeader(name) {
			return true
		}
	}
	return false
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
