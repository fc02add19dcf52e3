package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

func (db *DB) openPostgres(ctx context.Context, url string) error {
	db.d = postgresDialect()
	p, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	db.w, db.r = p, p
	if err := p.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	return nil
}

// Notification channels (PostgreSQL LISTEN/NOTIFY).
const (
	// ChannelRuns is notified when claimed runs wait for a node to take them.
	ChannelRuns = "apicron_runs"
	// ChannelSchedules is notified with a schedule id when the schedule changed.
	ChannelSchedules = "apicron_schedules"
)

func (t *tx) notify(ctx context.Context, channel, payload string) error {
	if !t.d.notify {
		return nil
	}
	_, err := t.exec(ctx, "SELECT pg_notify(?, ?)", channel, payload)
	return err
}

// notifyScheduleChanged tells the other nodes, on commit, that schedule id changed.
func notifyScheduleChanged(ctx context.Context, tx *tx, id int64) error {
	return tx.notify(ctx, ChannelSchedules, strconv.FormatInt(id, 10))
}

// Listen calls fn for every notification on the store's channels until ctx
// ends, reconnecting after errors. It returns at once on SQLite, which has
// no other process to hear from.
func (db *DB) Listen(ctx context.Context, fn func(channel, payload string)) {
	if !db.queued() {
		return
	}
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, db.dsn, fn)
		if ctx.Err() != nil {
			return
		}
		db.logger.Warn("notification listener lost; reconnecting", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, url string, fn func(channel, payload string)) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{ChannelRuns, ChannelSchedules} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	fn(ChannelRuns, "") // anything queued while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		fn(n.Channel, n.Payload)
	}
}
