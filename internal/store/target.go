package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apicron/apicron"
)

const targetColumns = "id, name, url, method, headers, body_template, timeout_seconds, max_retries, secret_headers, allow_insecure_redirects, created_at, updated_at, assertions, signing_secrets, retry_on, retry_backoff_ms, retry_max_backoff_ms, oauth2, client_cert, rate_per_second, rate_burst"

// CreateTarget implements apicron.Store.
func (db *DB) CreateTarget(ctx context.Context, t *apicron.Target) error {
	t.Normalize()
	if err := t.Validate(); err != nil {
		return err
	}
	return db.write(ctx, func(tx *tx) error {
		headers, secret, err := db.encodeHeaders(t, nil)
		if err != nil {
			return err
		}
		signing, err := db.secrets.sealSigning(t.SigningSecrets)
		if err != nil {
			return fmt.Errorf("encrypt signing secrets: %w", err)
		}
		oauth2, cert, err := db.encodeAuth(t, nil)
		if err != nil {
			return err
		}
		t.CreatedAt, t.UpdatedAt = tx.now, tx.now
		err = tx.queryRow(ctx, `INSERT INTO targets (name, url, method, headers, body_template, timeout_seconds, max_retries, secret_headers,
			allow_insecure_redirects, created_at, updated_at, assertions, signing_secrets, retry_on, retry_backoff_ms, retry_max_backoff_ms,
			oauth2, client_cert, rate_per_second, rate_burst)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.Name, t.URL, t.Method, headers, t.BodyTemplate, nullFloat(t.TimeoutSeconds), nullInt(t.MaxRetries),
			secret, t.AllowInsecureRedirects, ms(tx.now), ms(tx.now), encodeAssertions(t.Assertions), signing,
			encodeRetryOn(t.RetryOn), nullInt(t.RetryBackoffMs), nullInt(t.RetryMaxBackoffMs), oauth2, cert,
			ratePerSecond(t.RateLimit), rateBurst(t.RateLimit)).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert target: %w", err)
		}
		return nil
	})
}

// encodeHeaders returns a target's headers and secret header names as the
// JSON the targets table holds, secret values encrypted when the store has
// a key but for the stored ciphertexts in kept (sealer.sealHeaders).
func (db *DB) encodeHeaders(t *apicron.Target, kept map[string]string) (headers, secret string, err error) {
	sealed, err := db.secrets.sealHeaders(t, kept)
	var invalid *apicron.Error
	if errors.As(err, &invalid) {
		return "", "", err
	} else if err != nil {
		return "", "", fmt.Errorf("encrypt headers: %w", err)
	}
	h, err := json.Marshal(sealed)
	if err != nil {
		return "", "", fmt.Errorf("encode headers: %w", err)
	}
	names := t.SecretHeaders
	if names == nil {
		names = []string{}
	}
	s, err := json.Marshal(names)
	if err != nil {
		return "", "", fmt.Errorf("encode secret headers: %w", err)
	}
	return string(h), string(s), nil
}

// FindTargetByID implements apicron.Store.
func (db *DB) FindTargetByID(ctx context.Context, id int64) (*apicron.Target, error) {
	var t *apicron.Target
	err := db.read(ctx, func(tx *tx) (err error) {
		t, _, err = db.findTarget(ctx, tx, id)
		return err
	})
	return t, err
}

// findTarget reads target id, its secret values decrypted. Those that
// cannot be (SECRET_KEY missing or wrong) are kept as stored, which the API
// masks like any secret, and their header names returned in sealed.
func (db *DB) findTarget(ctx context.Context, tx *tx, id int64) (t *apicron.Target, sealed []string, err error) {
	t, sealed, err = db.scanTarget(tx.queryRow(ctx, "SELECT "+targetColumns+" FROM targets WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, apicron.Errorf(apicron.ENOTFOUND, "target %d not found", id)
	}
	return t, sealed, err
}

type scanner interface{ Scan(dest ...any) error }

// scanTarget reads a target row and decrypts what it can, as findTarget does.
func (db *DB) scanTarget(row scanner) (*apicron.Target, []string, error) {
	t, err := scanTargetRow(row)
	if err != nil {
		return nil, nil, err
	}
	failed := db.secrets.openHeaders(t)
	db.secrets.openSigning(t.SigningSecrets) // one it cannot open stays sealed: masked, kept, never sent
	if t.OAuth2 != nil {
		t.OAuth2.ClientSecret, _ = db.secrets.openSecret(t.OAuth2.ClientSecret, oauth2SecretAD) // likewise
	}
	if t.ClientCert != nil {
		t.ClientCert.KeyPEM, _ = db.secrets.openSecret(t.ClientCert.KeyPEM, clientKeyAD)
	}
	return t, failed, nil
}

func scanTargetRow(row scanner) (*apicron.Target, error) {
	var (
		t                    apicron.Target
		headers, secret      string
		timeout              sql.NullFloat64
		retries              sql.NullInt64
		createdAt, updatedAt int64
		assertions, signing  string
		retryOn              sql.NullString
		backoff, backoffCap  sql.NullInt64
		oauth2, cert         string
		perSecond            sql.NullFloat64
		burst                sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.URL, &t.Method, &headers, &t.BodyTemplate, &timeout, &retries, &secret,
		&t.AllowInsecureRedirects, &createdAt, &updatedAt, &assertions, &signing, &retryOn, &backoff, &backoffCap,
		&oauth2, &cert, &perSecond, &burst); err != nil {
		return nil, err
	}
	t.RateLimit = rateLimitOf(perSecond, burst)
	// Their secrets stay sealed here: scanTarget opens them (a nil sealer
	// opens nothing, but decodes the JSON all the same).
	var err error
	var s *sealer
	if t.OAuth2, _, err = s.decodeOAuth2(oauth2); err != nil {
		return nil, fmt.Errorf("decode oauth2 of target %d: %w", t.ID, err)
	}
	if t.ClientCert, _, err = s.decodeClientCert(cert); err != nil {
		return nil, fmt.Errorf("decode client certificate of target %d: %w", t.ID, err)
	}
	if t.RetryOn, err = decodeRetryOn(retryOn); err != nil {
		return nil, fmt.Errorf("decode retry_on of target %d: %w", t.ID, err)
	}
	t.RetryBackoffMs, t.RetryMaxBackoffMs = intPtr(backoff), intPtr(backoffCap)
	if signing != "" {
		if err := json.Unmarshal([]byte(signing), &t.SigningSecrets); err != nil {
			return nil, fmt.Errorf("decode signing secrets of target %d: %w", t.ID, err)
		}
	}
	if t.Assertions, err = decodeAssertions(assertions); err != nil {
		return nil, fmt.Errorf("decode assertions of target %d: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(headers), &t.Headers); err != nil {
		return nil, fmt.Errorf("decode headers of target %d: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(secret), &t.SecretHeaders); err != nil {
		return nil, fmt.Errorf("decode secret headers of target %d: %w", t.ID, err)
	}
	t.TimeoutSeconds = floatPtr(timeout)
	t.MaxRetries = intPtr(retries)
	t.CreatedAt, t.UpdatedAt = fromMs(createdAt), fromMs(updatedAt)
	return &t, nil
}

// FindTargets implements apicron.Store.
func (db *DB) FindTargets(ctx context.Context, p apicron.Page) ([]*apicron.Target, int, error) {
	limit, offset := clampPage(p.Limit, p.Offset)
	var (
		list  []*apicron.Target
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM targets").Scan(&total); err != nil {
			return err
		}
		rows, err := tx.query(ctx, "SELECT "+targetColumns+" FROM targets ORDER BY id LIMIT ? OFFSET ?", limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, _, err := db.scanTarget(rows)
			if err != nil {
				return err
			}
			list = append(list, t)
		}
		return rows.Err()
	})
	return list, total, err
}

// UpdateTarget implements apicron.Store.
func (db *DB) UpdateTarget(ctx context.Context, id int64, upd apicron.TargetUpdate) (*apicron.Target, error) {
	var t *apicron.Target
	err := db.write(ctx, func(tx *tx) (err error) {
		var sealed []string
		if t, sealed, err = db.findTarget(ctx, tx, id); err != nil {
			return err
		}
		stored := make(map[string]string, len(sealed))
		for _, name := range sealed {
			stored[name] = t.Headers[name]
		}
		upd.Apply(t)
		t.Normalize()
		check := *t
		check.SigningSecrets = withoutSealed(t.SigningSecrets) // kept ciphertexts: the key that reads them validated them
		if c := t.ClientCert; c != nil && isSealed(c.KeyPEM) {
			if err := c.Validate(false); err != nil {
				return err
			}
			check.ClientCert = nil
		}
		if err := check.Validate(); err != nil {
			return err
		}
		if n := len(t.SigningSecrets); n > apicron.MaxSigningSecrets {
			return apicron.Invalid("signing_secrets", "takes at most %d secrets, got %d", apicron.MaxSigningSecrets, n)
		}
		kept := keptCiphertexts(t, upd, stored)
		for name := range kept {
			// A kept ciphertext must stay in a secret header: in any other it
			// would be sent, and shown, as it is.
			if !t.IsSecretHeader(name) {
				return apicron.Invalid("headers."+name, "its stored value cannot be decrypted (SECRET_KEY missing or wrong), "+
					"so it cannot stop being secret; send a new value")
			}
		}
		headers, secret, err := db.encodeHeaders(t, kept)
		if err != nil {
			return err
		}
		signing, err := db.secrets.sealSigning(t.SigningSecrets)
		if err != nil {
			return fmt.Errorf("encrypt signing secrets: %w", err)
		}
		oauth2, cert, err := db.encodeAuth(t, &upd)
		if err != nil {
			return err
		}
		t.UpdatedAt = tx.now
		_, err = tx.exec(ctx, `UPDATE targets SET name = ?, url = ?, method = ?, headers = ?, body_template = ?,
			timeout_seconds = ?, max_retries = ?, secret_headers = ?, allow_insecure_redirects = ?, updated_at = ?, assertions = ?,
			signing_secrets = ?, retry_on = ?, retry_backoff_ms = ?, retry_max_backoff_ms = ?, oauth2 = ?, client_cert = ?,
			rate_per_second = ?, rate_burst = ? WHERE id = ?`,
			t.Name, t.URL, t.Method, headers, t.BodyTemplate, nullFloat(t.TimeoutSeconds), nullInt(t.MaxRetries),
			secret, t.AllowInsecureRedirects, ms(tx.now), encodeAssertions(t.Assertions), signing, encodeRetryOn(t.RetryOn),
			nullInt(t.RetryBackoffMs), nullInt(t.RetryMaxBackoffMs), oauth2, cert, ratePerSecond(t.RateLimit), rateBurst(t.RateLimit), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// encodeAuth returns t's OAuth2 configuration and client certificate as
// their columns hold them. A secret that is still a ciphertext (read
// without the key that opens it) is stored as it is only when it was
// carried over from the row: upd (nil for a new target) left it alone or
// sent the mask. One a client sent is refused: what a client sends is never
// taken for ciphertext.
func (db *DB) encodeAuth(t *apicron.Target, upd *apicron.TargetUpdate) (oauth2, cert string, err error) {
	if t.OAuth2 != nil && isSealed(t.OAuth2.ClientSecret) {
		kept := upd != nil && (upd.Auth == nil || (upd.Auth.OAuth2 != nil && upd.Auth.OAuth2.ClientSecret == apicron.MaskedValue))
		if !kept {
			return "", "", apicron.Invalid("auth.client_secret", "starts with %s, which marks a stored ciphertext: send the secret itself", sealedPrefix)
		}
	}
	if t.ClientCert != nil && isSealed(t.ClientCert.KeyPEM) {
		kept := upd != nil && (upd.ClientCert == nil || (*upd.ClientCert != nil && (*upd.ClientCert).KeyPEM == apicron.MaskedValue))
		if !kept {
			return "", "", apicron.Invalid("client_cert.key_pem", "starts with %s, which marks a stored ciphertext: send the PEM key", sealedPrefix)
		}
	}
	if oauth2, err = db.secrets.encodeOAuth2(t.OAuth2); err != nil {
		return "", "", err
	}
	if cert, err = db.secrets.encodeClientCert(t.ClientCert); err != nil {
		return "", "", err
	}
	return oauth2, cert, nil
}

// keptCiphertexts returns, by header name, the values of t (upd applied)
// that are the stored ciphertexts of stored (by stored header name) carried
// over from the row: those of headers upd leaves as they are, or sends back
// as the mask. A value the client sent is not among them, even one equal to
// a stored ciphertext: what a client sends is never taken for ciphertext.
func keptCiphertexts(t *apicron.Target, upd apicron.TargetUpdate, stored map[string]string) map[string]string {
	kept := map[string]string{}
	for name, v := range t.Headers {
		if upd.Headers != nil && (*upd.Headers)[name] != apicron.MaskedValue {
			continue // the client's value
		}
		for old, c := range stored {
			if strings.EqualFold(old, name) && c == v {
				kept[name] = v
			}
		}
	}
	return kept
}

// DeleteTarget implements apicron.Store.
func (db *DB) DeleteTarget(ctx context.Context, id int64) error {
	return db.write(ctx, func(tx *tx) error {
		if _, _, err := db.findTarget(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schedules WHERE target_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apicron.Errorf(apicron.ECONFLICT, "target %d is used by %d schedule(s); delete them or point them at another target first", id, n)
		}
		_, err := tx.exec(ctx, "DELETE FROM targets WHERE id = ?", id)
		return err
	})
}

// encodeAssertions is a list of assertions as the assertions columns hold
// it: JSON, or "" for none.
func encodeAssertions(list []apicron.Assertion) string {
	if len(list) == 0 {
		return ""
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "" // plain structs of strings, numbers and raw JSON: cannot fail
	}
	return string(b)
}

func decodeAssertions(s string) ([]apicron.Assertion, error) {
	if s == "" {
		return nil, nil
	}
	var list []apicron.Assertion
	err := json.Unmarshal([]byte(s), &list)
	return list, err
}

// encodeRetryOn is retry_on as its column holds it: NULL for the defaults.
func encodeRetryOn(list []string) sql.NullString {
	if list == nil {
		return sql.NullString{}
	}
	b, _ := json.Marshal(list) // strings: cannot fail
	return sql.NullString{String: string(b), Valid: true}
}

func decodeRetryOn(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	list := []string{}
	err := json.Unmarshal([]byte(s.String), &list)
	return list, err
}

// ratePerSecond and rateBurst are a rate limit as its columns hold it:
// NULL for none.
func ratePerSecond(r *apicron.RateLimit) sql.NullFloat64 {
	if r == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: r.PerSecond, Valid: true}
}

func rateBurst(r *apicron.RateLimit) sql.NullInt64 {
	if r == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(r.Burst), Valid: true}
}

// rateLimitOf reads the rate limit columns: nil when the rate is NULL. A
// burst NULL beside a rate (never written so) takes the default.
func rateLimitOf(perSecond sql.NullFloat64, burst sql.NullInt64) *apicron.RateLimit {
	if !perSecond.Valid {
		return nil
	}
	r := &apicron.RateLimit{PerSecond: perSecond.Float64, Burst: int(burst.Int64)}
	r.Normalize()
	return r
}
