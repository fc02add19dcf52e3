package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// settingSessionKey names the dashboard's session secret in the settings table.
const settingSessionKey = "session_key"

// sessionKeyAD is the associated data of the sealed session secret.
var sessionKeyAD = []byte("apicron session key")

// SessionSecret returns the secret the dashboard signs its sessions with:
// 32 random bytes made once and kept in the settings table (encrypted with
// SECRET_KEY when it is set), so that every node of a database signs alike
// and a restart keeps the sessions. Two nodes starting together agree: the
// first insert wins and both read it. One that this node cannot decrypt
// (SECRET_KEY changed) is replaced, which ends the sessions signed with it.
func (db *DB) SessionSecret(ctx context.Context) ([]byte, error) {
	var secret []byte
	err := db.write(ctx, func(tx *tx) error {
		for range 2 {
			var stored string
			err := tx.queryRow(ctx, "SELECT value FROM settings WHERE name = ?", settingSessionKey).Scan(&stored)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				if plain, ok := db.secrets.openSecret(stored, sessionKeyAD); ok {
					if raw, derr := base64.StdEncoding.DecodeString(plain); derr == nil && len(raw) >= 32 {
						secret = raw
						return nil
					}
				}
				if _, err := tx.exec(ctx, "DELETE FROM settings WHERE name = ? AND value = ?", settingSessionKey, stored); err != nil {
					return err
				}
			}
			raw := make([]byte, 32)
			_, _ = rand.Read(raw) // never fails (crypto/rand)
			sealed, err := db.secrets.sealSecret(base64.StdEncoding.EncodeToString(raw), sessionKeyAD)
			if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
				settingSessionKey, sealed); err != nil {
				return err
			}
		}
		return fmt.Errorf("the session secret could not be made")
	})
	return secret, err
}

// EndSession records that the dashboard session id was ended by a logout:
// until expires, when its cookie would lapse anyway, SessionEnded reports
// it, on every node of the database.
func (db *DB) EndSession(ctx context.Context, id string, expires time.Time) error {
	return db.write(ctx, func(tx *tx) error {
		_, err := tx.exec(ctx, "INSERT INTO dashboard_logouts (session_id, expires_at) VALUES (?, ?) ON CONFLICT (session_id) DO NOTHING",
			id, ms(expires))
		return err
	})
}

// SessionEnded reports whether the session id was ended by EndSession.
func (db *DB) SessionEnded(ctx context.Context, id string) (bool, error) {
	var n int
	err := db.read(ctx, func(tx *tx) error {
		return tx.queryRow(ctx, "SELECT COUNT(*) FROM dashboard_logouts WHERE session_id = ?", id).Scan(&n)
	})
	return n > 0, err
}

// settingTraceSeed names the trace seed in the settings table.
const settingTraceSeed = "trace_seed"

// TraceSeedSize is the length of TraceSeed's value.
const TraceSeedSize = 16

// TraceSeed returns the database's trace seed: TraceSeedSize random bytes
// made once and kept in the settings table, from which the executor
// derives each run's trace id (a keyed hash of the run id). Every node of a
// database, and every restart, reads the same seed, so a run has one trace
// id wherever and whenever its attempts are sent, and two databases'
// runs of the same id do not share one. It is no secret (it only tells
// trace ids apart) and is stored in clear text, so a new SECRET_KEY does
// not change it. Two nodes starting together agree: the first insert wins.
func (db *DB) TraceSeed(ctx context.Context) ([]byte, error) {
	var seed []byte
	err := db.write(ctx, func(tx *tx) error {
		for range 2 {
			var stored string
			err := tx.queryRow(ctx, "SELECT value FROM settings WHERE name = ?", settingTraceSeed).Scan(&stored)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				raw, derr := hex.DecodeString(stored)
				if derr == nil && len(raw) == TraceSeedSize {
					seed = raw
					return nil
				}
				// Not one this version made: replace it.
				if _, err := tx.exec(ctx, "DELETE FROM settings WHERE name = ? AND value = ?", settingTraceSeed, stored); err != nil {
					return err
				}
			}
			raw := make([]byte, TraceSeedSize)
			_, _ = rand.Read(raw) // never fails (crypto/rand)
			if _, err := tx.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
				settingTraceSeed, hex.EncodeToString(raw)); err != nil {
				return err
			}
		}
		return fmt.Errorf("the trace seed could not be made")
	})
	return seed, err
}
