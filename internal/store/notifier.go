package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// Notification delivery: how often, and how long a node owns one it took.
const (
	// NotificationAttempts is how many times a notification is tried before
	// it is recorded failed.
	NotificationAttempts = 6
	// notificationLease is how long a taken notification is its node's: one
	// whose node died is taken again after it, with the same id (a receiver
	// deduplicates by webhook-id or Message-ID).
	notificationLease = time.Minute
)

// notificationBackoff is the wait before attempt n+1 (n from 1).
func notificationBackoff(n int) time.Duration {
	steps := []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute}
	if n-1 < len(steps) {
		return steps[n-1]
	}
	return steps[len(steps)-1]
}

// Associated data of a notifier's sealed values: a ciphertext opens only as
// the field it was sealed for.
var (
	notifierURLAD      = []byte("apicron notifier url")
	notifierPasswordAD = []byte("apicron notifier password")
)

const notifierColumns = "id, name, type, url, signing_secrets, email, password, last_status, last_error, last_attempt_at, created_at, updated_at"

// storedEmail is an email notifier's settings as its column holds them:
// the password apart, in its own (sealed) column.
type storedEmail struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security string   `json:"security"`
	Username string   `json:"username,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
}

// notifierRow is a notifier as its row stores it.
type notifierRow struct {
	url, signing, email, password string
}

func (db *DB) encodeNotifier(n *apicron.Notifier) (notifierRow, error) {
	var r notifierRow
	var err error
	r.url = n.URL
	if n.Type == apicron.NotifierSlack {
		if r.url, err = db.secrets.sealSecret(n.URL, notifierURLAD); err != nil {
			return r, err
		}
	}
	if r.signing, err = db.secrets.sealSigning(n.SigningSecrets); err != nil {
		return r, err
	}
	if e := n.Email; e != nil {
		raw, err := json.Marshal(storedEmail{Host: e.Host, Port: e.Port, Security: e.Security, Username: e.Username, From: e.From, To: e.To})
		if err != nil {
			return r, err
		}
		r.email = string(raw)
		if e.Password != "" {
			if r.password, err = db.secrets.sealSecret(e.Password, notifierPasswordAD); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// scanNotifier reads a notifier row, its secrets decrypted where the key
// allows; sealed says whether one stays encrypted (it is then unusable).
func (db *DB) scanNotifier(row scanner) (n *apicron.Notifier, sealed bool, err error) {
	n = &apicron.Notifier{}
	var (
		r                    notifierRow
		status               string
		lastAt               sql.NullInt64
		createdAt, updatedAt int64
	)
	if err := row.Scan(&n.ID, &n.Name, &n.Type, &r.url, &r.signing, &r.email, &r.password, &status, &n.LastError, &lastAt,
		&createdAt, &updatedAt); err != nil {
		return nil, false, err
	}
	n.LastStatus, n.LastAttemptAt = apicron.NotificationStatus(status), timePtr(lastAt)
	n.CreatedAt, n.UpdatedAt = fromMs(createdAt), fromMs(updatedAt)
	ok := true
	var opened bool
	n.URL, opened = db.secrets.openSecret(r.url, notifierURLAD)
	ok = ok && opened
	if r.signing != "" {
		if err := json.Unmarshal([]byte(r.signing), &n.SigningSecrets); err != nil {
			return nil, false, fmt.Errorf("decode signing secrets of notifier %d: %w", n.ID, err)
		}
		ok = db.secrets.openSigning(n.SigningSecrets) && ok
	}
	if r.email != "" {
		var e storedEmail
		if err := json.Unmarshal([]byte(r.email), &e); err != nil {
			return nil, false, fmt.Errorf("decode email settings of notifier %d: %w", n.ID, err)
		}
		n.Email = &apicron.EmailSettings{Host: e.Host, Port: e.Port, Security: e.Security, Username: e.Username, From: e.From, To: e.To}
		n.Email.Password, opened = db.secrets.openSecret(r.password, notifierPasswordAD)
		ok = ok && opened
	}
	n.Sealed = !ok
	return n, !ok, nil
}

// prepareNotifier normalizes and validates n; the values it keeps sealed
// (read without the key that sealed them) are validated by that key.
func prepareNotifier(n *apicron.Notifier) error {
	n.Normalize()
	check := *n
	check.SigningSecrets = withoutSealed(n.SigningSecrets)
	if e := n.Email; e != nil && isSealed(e.Password) {
		ec := *e
		ec.Password = ""
		if ec.Username == "" {
			ec.Username = "-"
		}
		check.Email = &ec
	}
	if n.Type == apicron.NotifierSlack && isSealed(n.URL) {
		check.URL = "https://sealed.invalid/"
	}
	return check.Validate()
}

// CreateNotifier implements apicron.Store.
func (db *DB) CreateNotifier(ctx context.Context, n *apicron.Notifier) error {
	if err := prepareNotifier(n); err != nil {
		return err
	}
	return db.write(ctx, func(tx *tx) error {
		if err := uniqueNotifierName(ctx, tx, n.Name, 0); err != nil {
			return err
		}
		r, err := db.encodeNotifier(n)
		if err != nil {
			return fmt.Errorf("encrypt notifier secrets: %w", err)
		}
		n.CreatedAt, n.UpdatedAt = tx.now, tx.now
		return tx.queryRow(ctx, `INSERT INTO notifiers (name, type, url, signing_secrets, email, password, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, n.Name, n.Type, r.url, r.signing, r.email, r.password,
			ms(tx.now), ms(tx.now)).Scan(&n.ID)
	})
}

func uniqueNotifierName(ctx context.Context, tx *tx, name string, self int64) error {
	var id int64
	err := tx.queryRow(ctx, "SELECT id FROM notifiers WHERE name = ?", name).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case id != self:
		return apicron.Errorf(apicron.ECONFLICT, "notifier %d is already named %q; names are unique", id, name)
	}
	return nil
}

// FindNotifierByID implements apicron.Store.
func (db *DB) FindNotifierByID(ctx context.Context, id int64) (*apicron.Notifier, error) {
	var n *apicron.Notifier
	err := db.read(ctx, func(tx *tx) (err error) {
		n, _, err = db.findNotifier(ctx, tx, id)
		return err
	})
	return n, err
}

func (db *DB) findNotifier(ctx context.Context, tx *tx, id int64) (*apicron.Notifier, bool, error) {
	n, sealed, err := db.scanNotifier(tx.queryRow(ctx, "SELECT "+notifierColumns+" FROM notifiers WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, apicron.Errorf(apicron.ENOTFOUND, "notifier %d not found", id)
	}
	return n, sealed, err
}

// FindNotifiers implements apicron.Store.
func (db *DB) FindNotifiers(ctx context.Context, p apicron.Page) ([]*apicron.Notifier, int, error) {
	limit, offset := clampPage(p.Limit, p.Offset)
	var (
		list  []*apicron.Notifier
		total int
	)
	err := db.read(ctx, func(tx *tx) (err error) {
		if err = tx.queryRow(ctx, "SELECT COUNT(*) FROM notifiers").Scan(&total); err != nil {
			return err
		}
		list, err = db.queryNotifiers(ctx, tx, "ORDER BY id LIMIT ? OFFSET ?", limit, offset)
		return err
	})
	return list, total, err
}

// queryNotifiers reads the notifiers rest (a WHERE and ORDER clause) selects.
func (db *DB) queryNotifiers(ctx context.Context, tx *tx, rest string, args ...any) ([]*apicron.Notifier, error) {
	rows, err := tx.query(ctx, "SELECT "+notifierColumns+" FROM notifiers "+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*apicron.Notifier
	for rows.Next() {
		n, _, err := db.scanNotifier(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return list, rows.Err()
}

// UpdateNotifier implements apicron.Store.
func (db *DB) UpdateNotifier(ctx context.Context, id int64, upd apicron.NotifierUpdate) (*apicron.Notifier, error) {
	var n *apicron.Notifier
	err := db.write(ctx, func(tx *tx) (err error) {
		if n, _, err = db.findNotifier(ctx, tx, id); err != nil {
			return err
		}
		upd.Apply(n)
		if err := prepareNotifier(n); err != nil {
			return err
		}
		if err := uniqueNotifierName(ctx, tx, n.Name, id); err != nil {
			return err
		}
		r, err := db.encodeNotifier(n)
		if err != nil {
			return fmt.Errorf("encrypt notifier secrets: %w", err)
		}
		n.UpdatedAt = tx.now
		_, err = tx.exec(ctx, `UPDATE notifiers SET name = ?, url = ?, signing_secrets = ?, email = ?, password = ?, updated_at = ?
			WHERE id = ?`, n.Name, r.url, r.signing, r.email, r.password, ms(tx.now), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// DeleteNotifier implements apicron.Store: refused (ECONFLICT) while an
// alert rule names it. Its notifications stay, as history.
func (db *DB) DeleteNotifier(ctx context.Context, id int64) error {
	return db.write(ctx, func(tx *tx) error {
		if _, _, err := db.findNotifier(ctx, tx, id); err != nil {
			return err
		}
		users, err := notifierUsers(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return apicron.Errorf(apicron.ECONFLICT, "notifier %d is named by the alert rule of %s; change those rules first",
				id, strings.Join(users, ", "))
		}
		// Nothing is left to deliver to. The notifications first: every
		// transaction that locks both takes a notification, then its notifier.
		_, err = tx.exec(ctx, `UPDATE notifications SET status = ?, next_attempt_at = NULL, last_error = ?
			WHERE notifier_id = ? AND status = ?`, string(apicron.NotificationFailed), "the notifier was deleted", id,
			string(apicron.NotificationPending))
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "DELETE FROM notifiers WHERE id = ?", id)
		return err
	})
}

// notifierUsers names the rules that send to notifier id: the default
// one, and schedules (at most 10 named).
func notifierUsers(ctx context.Context, tx *tx, id int64) ([]string, error) {
	var users []string
	def, err := defaultAlertRule(ctx, tx)
	if err != nil {
		return nil, err
	}
	if def != nil && slices.Contains(def.NotifierIDs, id) {
		users = append(users, "the default rule")
	}
	rows, err := tx.query(ctx, "SELECT id, alert FROM schedules WHERE alert IS NOT NULL ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			sid  int64
			rule sql.NullString
		)
		if err := rows.Scan(&sid, &rule); err != nil {
			return nil, err
		}
		r, err := decodeAlertRule(rule)
		if err != nil || r == nil || !slices.Contains(r.NotifierIDs, id) {
			continue
		}
		if n++; n <= 10 {
			users = append(users, fmt.Sprintf("schedule %d", sid))
		}
	}
	if n > 10 {
		users = append(users, fmt.Sprintf("%d more schedules", n-10))
	}
	return users, rows.Err()
}

const notificationColumns = "id, notifier_id, schedule_id, run_id, event, message, status, attempts, next_attempt_at, last_error, created_at, sent_at"

func scanNotification(row scanner) (*apicron.Notification, error) {
	var (
		n                   apicron.Notification
		schedule, run, next sql.NullInt64
		sent                sql.NullInt64
		event, msg, status  string
		created             int64
	)
	if err := row.Scan(&n.ID, &n.NotifierID, &schedule, &run, &event, &msg, &status, &n.Attempts, &next, &n.LastError,
		&created, &sent); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(msg), &n.Message); err != nil {
		return nil, fmt.Errorf("decode notification %d: %w", n.ID, err)
	}
	n.ScheduleID, n.RunID = int64Ptr(schedule), int64Ptr(run)
	n.Event, n.Status = apicron.AlertEvent(event), apicron.NotificationStatus(status)
	n.CreatedAt, n.SentAt, n.NextAttempt = fromMs(created), timePtr(sent), timePtr(next)
	return &n, nil
}

// FindNotifications implements apicron.Store: newest first.
func (db *DB) FindNotifications(ctx context.Context, f apicron.NotificationFilter) ([]*apicron.Notification, int, error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	var (
		where []string
		args  []any
	)
	if f.ScheduleID != nil {
		where, args = append(where, "schedule_id = ?"), append(args, *f.ScheduleID)
	}
	if f.NotifierID != nil {
		where, args = append(where, "notifier_id = ?"), append(args, *f.NotifierID)
	}
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, string(*f.Status))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		list  []*apicron.Notification
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM notifications"+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.query(ctx, "SELECT "+notificationColumns+" FROM notifications"+cond+" ORDER BY id DESC LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			list = append(list, n)
		}
		return rows.Err()
	})
	return list, total, err
}

// TakeNotifications implements apicron.Engine: up to limit pending
// notifications due by now, each leased to this node for
// notificationLease and counted as an attempt.
func (db *DB) TakeNotifications(ctx context.Context, now time.Time, limit int) ([]*apicron.NotificationJob, error) {
	// A read first: the leader asks every second, and most seconds there is
	// nothing to take, which should cost no write transaction.
	var due int
	err := db.read(ctx, func(tx *tx) error {
		return tx.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE status = ? AND next_attempt_at <= ? LIMIT 1) due",
			string(apicron.NotificationPending), ms(now)).Scan(&due)
	})
	if err != nil || due == 0 {
		return nil, err
	}
	var jobs []*apicron.NotificationJob
	err = db.engineWrite(ctx, func(tx *tx) error {
		jobs = jobs[:0]
		rows, err := tx.query(ctx, `SELECT id, notifier_id, attempts, message FROM notifications
			WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`+lockSkip(tx),
			string(apicron.NotificationPending), ms(now), limit)
		if err != nil {
			return err
		}
		type taken struct {
			id, notifier int64
			attempts     int
			msg          string
		}
		var list []taken
		for rows.Next() {
			var t taken
			if err := rows.Scan(&t.id, &t.notifier, &t.attempts, &t.msg); err != nil {
				rows.Close()
				return err
			}
			list = append(list, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range list {
			n, sealed, err := db.findNotifier(ctx, tx, t.notifier)
			if apicron.ErrorCode(err) == apicron.ENOTFOUND {
				// Raised as its notifier was deleted: nothing to retry.
				_, err = tx.exec(ctx, "UPDATE notifications SET status = ?, next_attempt_at = NULL, last_error = ? WHERE id = ?",
					string(apicron.NotificationFailed), "the notifier was deleted", t.id)
				if err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			_, err = tx.exec(ctx, "UPDATE notifications SET attempts = ?, next_attempt_at = ? WHERE id = ?",
				t.attempts+1, ms(now.Add(notificationLease)), t.id)
			if err != nil {
				return err
			}
			j := &apicron.NotificationJob{ID: t.id, Attempt: t.attempts + 1, Message: &apicron.AlertMessage{}}
			if err := json.Unmarshal([]byte(t.msg), j.Message); err != nil {
				return fmt.Errorf("decode notification %d: %w", t.id, err)
			}
			switch {
			case sealed:
				j.Error = "the notifier's secrets cannot be decrypted: SECRET_KEY missing or wrong"
			default:
				j.Notifier = n
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	return jobs, err
}

// lockSkip is the locking clause of a take: rows another node holds are
// skipped (PostgreSQL); SQLite's one writer needs none.
func lockSkip(tx *tx) string {
	if tx.d.forUpdate == "" {
		return ""
	}
	return tx.d.forUpdate + " SKIP LOCKED"
}

// FinishNotification implements apicron.Engine: records how attempt went
// (sendErr nil: sent), schedules the next attempt or gives up after
// NotificationAttempts, and notes the outcome on the notifier. A stale
// attempt (the notification was taken again since) changes nothing.
func (db *DB) FinishNotification(ctx context.Context, id int64, attempt int, sendErr error) error {
	return db.engineWrite(ctx, func(tx *tx) error {
		var (
			notifier int64
			attempts int
			status   string
		)
		err := tx.queryRow(ctx, "SELECT notifier_id, attempts, status FROM notifications WHERE id = ?"+tx.d.forUpdate, id).
			Scan(&notifier, &attempts, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if attempts != attempt || status != string(apicron.NotificationPending) {
			return nil
		}
		now := ms(tx.now)
		if sendErr == nil {
			_, err = tx.exec(ctx, "UPDATE notifications SET status = ?, next_attempt_at = NULL, last_error = '', sent_at = ? WHERE id = ?",
				string(apicron.NotificationSent), now, id)
		} else {
			msg := truncateRunes(sendErr.Error(), 1000)
			if attempt >= NotificationAttempts {
				_, err = tx.exec(ctx, "UPDATE notifications SET status = ?, next_attempt_at = NULL, last_error = ? WHERE id = ?",
					string(apicron.NotificationFailed), msg, id)
			} else {
				_, err = tx.exec(ctx, "UPDATE notifications SET next_attempt_at = ?, last_error = ? WHERE id = ?",
					ms(tx.now.Add(notificationBackoff(attempt))), msg, id)
			}
		}
		if err != nil {
			return err
		}
		return noteDelivery(ctx, tx, notifier, sendErr)
	})
}

// noteDelivery records on notifier id how its latest delivery went.
func noteDelivery(ctx context.Context, tx *tx, id int64, sendErr error) error {
	status, msg := string(apicron.NotificationSent), ""
	if sendErr != nil {
		status, msg = string(apicron.NotificationFailed), truncateRunes(sendErr.Error(), 1000)
	}
	_, err := tx.exec(ctx, "UPDATE notifiers SET last_status = ?, last_error = ?, last_attempt_at = ? WHERE id = ?",
		status, msg, ms(tx.now), id)
	return err
}

// NoteNotifierTest implements apicron.Store: a test send's outcome, noted
// on the notifier as a delivery is.
func (db *DB) NoteNotifierTest(ctx context.Context, id int64, sendErr error) error {
	return db.write(ctx, func(tx *tx) error { return noteDelivery(ctx, tx, id, sendErr) })
}

// FailingNotifiers implements apicron.Store: the notifiers whose latest
// delivery failed, for /health.
func (db *DB) FailingNotifiers(ctx context.Context) ([]*apicron.Notifier, error) {
	var list []*apicron.Notifier
	err := db.read(ctx, func(tx *tx) (err error) {
		list, err = db.queryNotifiers(ctx, tx, "WHERE last_status = ? ORDER BY id LIMIT 100", string(apicron.NotificationFailed))
		return err
	})
	return list, err
}
