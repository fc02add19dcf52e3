package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

const dispatcherLease = "dispatcher"

// queued reports whether claimed runs wait in the database for any node to
// take them (a shared PostgreSQL database) rather than being run by the
// process that claimed them (SQLite, or PostgreSQL used by one process).
func (db *DB) queued() bool { return db.shared }

// Shared reports whether several nodes may use this database (Config.Shared):
// claimed runs then wait in it for any node to take them.
func (db *DB) Shared() bool { return db.queued() }

// NodeID returns the node identity the store records on runs.
func (db *DB) NodeID() string { return db.nodeID }

// jobJSON is a job as it waits in runs.job.
type jobJSON struct {
	ScheduleName string            `json:"schedule_name"`
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers"`
	// SealedHeaders replaces Headers when the store has a SecretKey: the
	// headers, decrypted at claim time, wait here encrypted as one value.
	SealedHeaders string `json:"sealed_headers,omitempty"`
	DecryptError  string `json:"decrypt_error,omitempty"`
	BodyTemplate  string `json:"body_template"`
	TimeoutMs     int64  `json:"timeout_ms"`
	MaxRetries    int    `json:"max_retries"`
	// AllowInsecureRedirects is the target's (omitted when false, as jobs
	// claimed before it existed were).
	AllowInsecureRedirects bool  `json:"allow_insecure_redirects,omitempty"`
	RetryDeadline          int64 `json:"retry_deadline"`
	// RetryInterrupted is the schedule's retry_interrupted when the run was
	// claimed (omitted when false): a run claimed without it is not run
	// again should the flag be turned on while it is in flight.
	RetryInterrupted bool `json:"retry_interrupted,omitempty"`
	// SecretHeaders names the target's own secret headers, whose values
	// the executor never quotes.
	SecretHeaders []string `json:"secret_headers,omitempty"`
	// Replaceable: the schedule's overlap policy is replace (omitted when false).
	Replaceable bool `json:"replaceable,omitempty"`
	// Assertions are the response's success checks.
	Assertions []apicron.Assertion `json:"assertions,omitempty"`
	// SigningSecrets are the target's, in clear only without a key;
	// SealedSigning holds them encrypted (sealSigning) with one.
	SigningSecrets []string `json:"signing_secrets,omitempty"`
	SealedSigning  string   `json:"sealed_signing,omitempty"`
	// OAuth2 and ClientCert are the target's, in the form of their columns:
	// the client secret and the key encrypted when the store has a key.
	OAuth2     string `json:"oauth2,omitempty"`
	ClientCert string `json:"client_cert,omitempty"`
	// RetryOn (absent: the defaults) and the backoff are the target's retry policy.
	RetryOn       []string `json:"retry_on"` // null: the defaults; [] retries nothing
	BackoffBaseMs int64    `json:"backoff_base_ms,omitempty"`
	BackoffCapMs  int64    `json:"backoff_cap_ms,omitempty"`
	// RateLimit is the target's (absent: none).
	RateLimit *rateLimitJSON `json:"rate_limit,omitempty"`
}

// rateLimitJSON is a rate limit as a queued job holds it.
type rateLimitJSON struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

func (db *DB) toJobJSON(j *apicron.Job) (jobJSON, error) {
	jj := jobJSON{ScheduleName: j.ScheduleName, Method: j.Method, URL: j.URL, Headers: j.Headers,
		DecryptError: j.DecryptError, BodyTemplate: j.BodyTemplate, TimeoutMs: j.Timeout.Milliseconds(),
		MaxRetries: j.MaxRetries, RetryDeadline: ms(j.RetryDeadline), RetryInterrupted: j.RetryInterrupted,
		AllowInsecureRedirects: j.AllowInsecureRedirects, SecretHeaders: j.SecretHeaders, Replaceable: j.Replaceable, Assertions: j.Assertions, SigningSecrets: j.SigningSecrets,
		RetryOn: j.RetryOn, BackoffBaseMs: j.BackoffBase.Milliseconds(), BackoffCapMs: j.BackoffCap.Milliseconds()}
	var err error
	if jj.OAuth2, err = db.secrets.encodeOAuth2(j.OAuth2); err != nil {
		return jobJSON{}, fmt.Errorf("job: %w", err)
	}
	if jj.ClientCert, err = db.secrets.encodeClientCert(j.ClientCert); err != nil {
		return jobJSON{}, fmt.Errorf("job: %w", err)
	}
	if r := j.RateLimit; r != nil {
		jj.RateLimit = &rateLimitJSON{PerSecond: r.PerSecond, Burst: r.Burst}
	}
	if db.secrets != nil {
		sealed, err := db.secrets.sealJobHeaders(j.Headers)
		if err != nil {
			return jobJSON{}, fmt.Errorf("encrypt job headers: %w", err)
		}
		jj.Headers, jj.SealedHeaders = nil, sealed
		if len(j.SigningSecrets) > 0 {
			if jj.SealedSigning, err = db.secrets.sealSigning(j.SigningSecrets); err != nil {
				return jobJSON{}, fmt.Errorf("encrypt job signing secrets: %w", err)
			}
			jj.SigningSecrets = nil
		}
	}
	return jj, nil
}

// jobHeaders returns the headers of a queued job, and the job's
// DecryptError. Sealed headers this node cannot open (its SECRET_KEY is
// missing or differs from the claiming node's) fail the run rather than
// send it without them.
func (db *DB) jobHeaders(jj *jobJSON) (map[string]string, string) {
	if jj.SealedHeaders == "" {
		return jj.Headers, jj.DecryptError
	}
	h, err := db.secrets.openJobHeaders(jj.SealedHeaders)
	if err != nil {
		return nil, "the request's headers cannot be decrypted: SECRET_KEY missing on this node, or not the claiming node's"
	}
	return h, jj.DecryptError
}

// dbNow is the database's clock in unix milliseconds: leases and heartbeats
// compare times from one clock, so the nodes' clocks may disagree.
const dbNowSQL = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"

// heartbeatFreshSQL selects a row when node ? (the first argument) beat
// its heartbeat within ? milliseconds by the database's clock: for EXISTS.
// liveNodesSQL counts the nodes that beat within ? milliseconds.
const (
	heartbeatFreshSQL = "SELECT 1 FROM nodes WHERE node_id = ? AND heartbeat_at >= " + dbNowSQL + " - ?"
	liveNodesSQL      = "SELECT COUNT(*) FROM nodes WHERE heartbeat_at >= " + dbNowSQL + " - ?"
)

// TakeRuns gives this node up to limit claimed runs that no node has taken,
// earliest first. SKIP LOCKED lets every node take at once without waiting
// on each other or taking the same run.
//
// With fresh > 0 it takes nothing unless this node's own heartbeat, by the
// database's clock, is younger than fresh: the reaper declares a node dead
// only once its heartbeat is older than the lease (ReapDeadNodes), so a run
// taken here cannot be reaped within LEASE_TTL - fresh of the take. The
// engine sends a taken run only within that window of the take or of a
// ConfirmRun; a node paused or cut off for longer asks again first.
//
// Each take marks its runs with a random token. A take that fails may still
// have been committed (its answer lost with the connection), leaving runs
// assigned to this node that it does not know: the next takes give them
// back to the queue by that token (releaseLostTakes) for any node to take.
func (db *DB) TakeRuns(ctx context.Context, limit int, fresh time.Duration) ([]*apicron.Job, error) {
	if !db.queued() || limit <= 0 {
		return nil, nil
	}
	db.releaseLostTakes(ctx)
	token := rand.Int64N(math.MaxInt64) + 1
	var jobs []*apicron.Job
	err := db.write(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, `UPDATE runs SET node_id = ?, take_token = ? WHERE id IN (
			SELECT id FROM runs WHERE status = 'RUNNING' AND node_id = '' AND (? <= 0 OR EXISTS (`+heartbeatFreshSQL+`))
			ORDER BY scheduled_at LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING `+takenColumns,
			db.nodeID, token, fresh.Milliseconds(), db.nodeID, fresh.Milliseconds(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := db.scanTaken(rows)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		db.lostTakes.add(token, time.Now())
		return nil, err
	}
	return jobs, nil
}

// takenColumns are the columns of a run scanTaken reads: its job as it
// waits in runs.job, and the occurrence's own.
const takenColumns = "id, schedule_id, target_id, scheduled_at, missed, job, run_trigger, jitter_ms, reruns, rerun_reason, take_token"

// scanTaken reads a taken run's job (takenColumns).
func (db *DB) scanTaken(rows *sql.Rows) (*apicron.Job, error) {
	var (
		j         apicron.Job
		scheduled int64
		raw       sql.NullString
		jj        jobJSON
		trigger   string
		jitter    int64
		reason    sql.NullString
	)
	if err := rows.Scan(&j.RunID, &j.ScheduleID, &j.TargetID, &scheduled, &j.Missed, &raw, &trigger, &jitter, &j.Reruns, &reason, &j.TakeToken); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw.String), &jj); err != nil {
		return nil, fmt.Errorf("decode job of run %d: %w", j.RunID, err)
	}
	j.ScheduledAt = fromMs(scheduled)
	j.Trigger, j.Jitter = apicron.Trigger(trigger), time.Duration(jitter)*time.Millisecond
	j.ScheduleName, j.Method, j.URL, j.BodyTemplate = jj.ScheduleName, jj.Method, jj.URL, jj.BodyTemplate
	j.Headers, j.DecryptError = db.jobHeaders(&jj)
	j.Timeout, j.MaxRetries = time.Duration(jj.TimeoutMs)*time.Millisecond, jj.MaxRetries
	j.AllowInsecureRedirects, j.SecretHeaders, j.Replaceable = jj.AllowInsecureRedirects, jj.SecretHeaders, jj.Replaceable
	j.Assertions, j.RetryOn = jj.Assertions, jj.RetryOn
	j.BackoffBase, j.BackoffCap = time.Duration(jj.BackoffBaseMs)*time.Millisecond, time.Duration(jj.BackoffCapMs)*time.Millisecond
	if j.SigningSecrets = jj.SigningSecrets; jj.SealedSigning != "" {
		if err := json.Unmarshal([]byte(jj.SealedSigning), &j.SigningSecrets); err != nil || !db.secrets.openSigning(j.SigningSecrets) {
			j.SigningSecrets = nil
			msg := "the signing secret cannot be decrypted: SECRET_KEY missing on this node, or not the claiming node's"
			if j.DecryptError != "" {
				msg = j.DecryptError + "; " + msg
			}
			j.DecryptError = msg
		}
	}
	if err := db.secrets.decodeJobAuth(&j, jj.OAuth2, jj.ClientCert, "SECRET_KEY missing on this node, or not the claiming node's"); err != nil {
		return nil, fmt.Errorf("job of run %d: %w", j.RunID, err)
	}
	j.RetryDeadline, j.RetryInterrupted = fromMs(jj.RetryDeadline), jj.RetryInterrupted
	if r := jj.RateLimit; r != nil {
		j.RateLimit = &apicron.RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
		j.RateLimit.Normalize()
	}
	j.RerunReason = reason.String
	return &j, nil
}

// lostTakeWindow is how long the runs of a failed take are given back:
// time enough for a commit the database applied after the client gave up
// on it (its connection cut, its context ended) to become visible.
const lostTakeWindow = 10 * time.Second

// lostTakes are the tokens of takes that failed, with when they failed.
type lostTakes struct {
	mu     sync.Mutex
	tokens map[int64]time.Time
	tried  time.Time // the last release, which runs at most once a second
}

// maxLostTakes bounds the tokens kept: during a database outage every take
// fails, about one a second; past the bound the oldest is forgotten.
const maxLostTakes = 64

func (l *lostTakes) add(token int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokens == nil {
		l.tokens = map[int64]time.Time{}
	}
	if len(l.tokens) >= maxLostTakes {
		var oldest int64
		for t, a := range l.tokens {
			if oldest == 0 || a.Before(l.tokens[oldest]) {
				oldest = t
			}
		}
		delete(l.tokens, oldest)
	}
	l.tokens[token] = at
	if len(l.tokens) == 1 {
		l.tried = time.Time{} // the first: released at the next take
	}
}

// due returns the tokens to release now, and forgets those older than
// lostTakeWindow once released after it.
func (l *lostTakes) due(now time.Time) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tokens) == 0 || now.Sub(l.tried) < time.Second {
		return nil
	}
	l.tried = now
	out := make([]int64, 0, len(l.tokens))
	for t := range l.tokens {
		out = append(out, t)
	}
	return out
}

// released notes that the runs of token are back in the queue as of at:
// the token is dropped once a release has run after lostTakeWindow.
func (l *lostTakes) released(token int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if failed, ok := l.tokens[token]; ok && at.Sub(failed) > lostTakeWindow {
		delete(l.tokens, token)
	}
}

// releaseLostTakes gives back to the queue the runs that failed takes
// assigned to this node, should their commits have succeeded: RUNNING, this
// node's, and still marked with such a take's token (a run another node
// took since has that node's token). Running it again is harmless. It
// fails quietly: the next take tries again.
func (db *DB) releaseLostTakes(ctx context.Context) {
	now := time.Now()
	tokens := db.lostTakes.due(now)
	if len(tokens) == 0 {
		return
	}
	var n int64
	err := db.write(ctx, func(tx *tx) error {
		n = 0
		err := forPieces(len(tokens), func(lo, hi int) error {
			args := append([]any{db.nodeID}, int64Args(tokens[lo:hi])...)
			res, err := tx.exec(ctx, "UPDATE runs SET node_id = '', take_token = 0 WHERE status = 'RUNNING' AND node_id = ? AND take_token IN ("+
				placeholders(hi-lo)+")", args...)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			n += m
			return err
		})
		if err != nil || n == 0 {
			return err
		}
		return tx.notify(ctx, ChannelRuns, "")
	})
	if err != nil {
		return
	}
	if n > 0 {
		db.logger.Warn("runs of a take whose answer was lost given back to the queue", "runs", n)
	}
	for _, token := range tokens {
		db.lostTakes.released(token, now)
	}
}

// ConfirmRun reports whether run id is still this node's to send: RUNNING,
// assigned to this node and, token not 0, still carrying that take's token
// (mine: a run given back and taken again is another sending's), and this node's heartbeat younger than
// fresh by the database's clock (live). A run that is not mine was reaped
// or finished meanwhile: its request must not be sent. Mine but not live,
// the node cannot tell yet whether the reaper will take it. live is false
// for a run that is not mine.
func (db *DB) ConfirmRun(ctx context.Context, id, token int64, fresh time.Duration) (mine, live bool, err error) {
	err = db.read(ctx, func(tx *tx) error {
		err := tx.queryRow(ctx, `SELECT EXISTS (`+heartbeatFreshSQL+`)
			FROM runs WHERE id = ? AND status = 'RUNNING' AND node_id = ? AND (CAST(? AS BIGINT) = 0 OR take_token = ?)`,
			db.nodeID, fresh.Milliseconds(), id, db.nodeID, token, token).Scan(&live)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		mine = err == nil
		return err
	})
	return mine, live, err
}

// checkLease fences a claim on a shared database: the claim's transaction
// reads the dispatcher lease last, locked (FOR SHARE) until it commits, and
// refuses the claim with apicron.ErrLeaseLost when another node holds the
// lease unexpired, or when the lease changed hands since this node's last
// heartbeat saw itself hold it (mine, the claim's leaseEpoch). A node paused past its lease (a zombie
// leader) thus claims nothing once another has taken over: the takeover's
// UPDATE of the lease waits for a claim in flight to commit, and every claim
// after it sees the new holder.
func (db *DB) checkLease(ctx context.Context, tx *tx, mine int64) error {
	if !db.shared {
		return nil
	}
	var (
		holder string
		epoch  int64
		live   bool
	)
	err := tx.queryRow(ctx, "SELECT holder, epoch, expires_at > "+dbNowSQL+" FROM leases WHERE name = ? FOR SHARE",
		dispatcherLease).Scan(&holder, &epoch, &live)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if mine != 0 {
			return apicron.ErrLeaseLost
		}
		return nil // no node has ever led (a store used without heartbeats)
	case err != nil:
		return fmt.Errorf("read the dispatcher lease: %w", err)
	}
	if (holder != db.nodeID && live) || (mine != 0 && (holder != db.nodeID || epoch != mine)) {
		return apicron.ErrLeaseLost
	}
	return nil
}

// LeaseTTLDisagreement names, as this node's last heartbeat found them,
// the live nodes that run with a LEASE_TTL other than this node's; empty
// when they all agree (or before a heartbeat). Fencing a paused node's
// sends and the reaper's wait both assume every node has the same one.
func (db *DB) LeaseTTLDisagreement() string {
	if p := db.leaseTTLs.Load(); p != nil {
		return *p
	}
	return ""
}

// LiveNodeCount is how many nodes this node's last heartbeat found alive
// (a heartbeat within the lease), itself included: at least 1.
func (db *DB) LiveNodeCount() int {
	return int(max(db.liveNodes.Load(), 1))
}

// claimsOwnRuns reports whether the runs this node claims now are its own
// at once, taken in the claim itself (Claim): it is the only live node
// its last heartbeat counted, and its own heartbeat is younger than half
// that heartbeat's lease ttl by the database's clock, as a take requires
// (TakeRuns with fresh LEASE_TTL/2). Otherwise they wait in the database
// for whichever node takes them.
func (db *DB) claimsOwnRuns(ctx context.Context, tx *tx) (bool, error) {
	ttl := db.heartbeatTTL.Load()
	if !db.queued() || ttl <= 0 || db.LiveNodeCount() != 1 {
		return false, nil
	}
	var fresh bool
	err := tx.queryRow(ctx, "SELECT EXISTS ("+heartbeatFreshSQL+")", db.nodeID, ttl/2).Scan(&fresh)
	return fresh, err
}

// LeaseEpoch is the dispatcher lease's epoch this node last saw itself
// hold, -1 when it last saw another node hold it, 0 before any heartbeat:
// the epoch its claims record on their runs (runs.lease_epoch).
func (db *DB) LeaseEpoch() int64 { return db.leaseEpoch.Load() }

// Heartbeat records that this node is alive and takes or renews the
// dispatcher lease for ttl when it is free, expired or already this node's.
// It returns the lease's holder and epoch; the epoch grows each time the
// lease changes hands. Times are the database's clock, so the nodes' clocks
// may disagree.
//
// The node's own heartbeat is committed first, on its own: a lease row
// locked by a transaction that does not end (a claim of a node frozen
// mid-transaction holds it FOR SHARE) must not make every live node look
// dead to the reaper. The lease's upsert then waits at most leaseLockWait
// for that lock, and fails rather than hold the heartbeats back.
func (db *DB) Heartbeat(ctx context.Context, ttl time.Duration) (holder string, epoch int64, err error) {
	var (
		others []string
		live   int64
	)
	err = db.write(ctx, func(tx *tx) error {
		others = others[:0]
		_, err := tx.exec(ctx, `INSERT INTO nodes (node_id, started_at, heartbeat_at, lease_ttl_ms) VALUES (?, `+dbNowSQL+`, `+dbNowSQL+`, ?)
			ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_ttl_ms = excluded.lease_ttl_ms`,
			db.nodeID, ttl.Milliseconds())
		if err != nil {
			return err
		}
		if err := tx.queryRow(ctx, liveNodesSQL, ttl.Milliseconds()).Scan(&live); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT node_id, lease_ttl_ms FROM nodes WHERE heartbeat_at >= `+dbNowSQL+` - ?
			AND lease_ttl_ms > 0 AND lease_ttl_ms <> ? ORDER BY node_id LIMIT 5`, ttl.Milliseconds(), ttl.Milliseconds())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var node string
			var ms int64
			if err := rows.Scan(&node, &ms); err != nil {
				return err
			}
			others = append(others, fmt.Sprintf("%s runs with LEASE_TTL %v", node, time.Duration(ms)*time.Millisecond))
		}
		return rows.Err()
	})
	if err != nil {
		return "", 0, err
	}
	disagree := ""
	if len(others) > 0 {
		disagree = strings.Join(others, ", ") + "; this node with " + ttl.String() + ": fencing needs the same LEASE_TTL on every node"
	}
	db.leaseTTLs.Store(&disagree)
	db.liveNodes.Store(live)
	db.heartbeatTTL.Store(ttl.Milliseconds())
	err = db.write(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, "SELECT set_config('lock_timeout', ?, true)", strconv.FormatInt(leaseLockWait.Milliseconds(), 10)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, 1, `+dbNowSQL+` + ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
				epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
				expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at < `+dbNowSQL,
			dispatcherLease, db.nodeID, ttl.Milliseconds()); err != nil {
			return err
		}
		return tx.queryRow(ctx, "SELECT holder, epoch FROM leases WHERE name = ?", dispatcherLease).Scan(&holder, &epoch)
	})
	if err != nil {
		return "", 0, err
	}
	if holder == db.nodeID {
		db.leaseEpoch.Store(epoch)
	} else {
		db.leaseEpoch.Store(-1)
	}
	return holder, epoch, nil
}

// leaseLockWait bounds how long a heartbeat waits for the lease row's lock.
const leaseLockWait = time.Second

// Resign gives up the dispatcher lease if this node holds it, so another
// node can take over at once instead of waiting for it to expire.
func (db *DB) Resign(ctx context.Context) error {
	return db.write(ctx, func(tx *tx) error {
		db.leaseEpoch.Store(-1)
		_, err := tx.exec(ctx, "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?", dispatcherLease, db.nodeID)
		return err
	})
}

// ReapDeadNodes marks INTERRUPTED the runs held by nodes whose last
// heartbeat is older than ttl, and the claimed runs no node took within ttl
// of their time (their claimer stopped and no other node was there). A dead
// node's results, should it come back, are then fenced off by Finish.
func (db *DB) ReapDeadNodes(ctx context.Context, now time.Time, ttl time.Duration) (int64, error) {
	dead, _, err := db.interrupt(ctx, now, "the node running it stopped (no heartbeat for "+ttl.String()+")", requeueRerunnable,
		`status = 'RUNNING' AND node_id <> '' AND node_id NOT IN (
			SELECT node_id FROM nodes WHERE heartbeat_at >= `+dbNowSQL+` - ?)`, ttl.Milliseconds())
	if err != nil {
		return dead, err
	}
	// A run given back to be run again (reruns > 0) waits for a node as
	// long as it must: the reaper runs on a live node, which takes it.
	untaken, _, err := db.interrupt(ctx, now, "no node took the run within "+ttl.String()+" of its time", interruptRerunnable,
		`status = 'RUNNING' AND node_id = '' AND reruns = 0 AND scheduled_at < `+dbNowSQL+` - ?`,
		ttl.Milliseconds())
	return dead + untaken, err
}

// LiveNodes counts the nodes sharing the database whose last heartbeat is
// within ttl, by the database's clock. Alone on its database (not Shared)
// the process is the only node: 1.
func (db *DB) LiveNodes(ctx context.Context, ttl time.Duration) (int, error) {
	if !db.queued() {
		return 1, nil
	}
	var n int
	err := db.read(ctx, func(tx *tx) error {
		return tx.queryRow(ctx, liveNodesSQL, ttl.Milliseconds()).Scan(&n)
	})
	return n, err
}
