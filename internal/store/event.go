package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/apicron/apicron"
)

// addEvent records an event of schedule id in tx, by the actor on ctx.
func addEvent(ctx context.Context, tx *tx, id int64, kind apicron.EventKind, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO schedule_events (schedule_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
		id, ms(tx.now), string(kind), apicron.ActorFrom(ctx), string(raw))
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// FindEvents implements apicron.Store: schedule id's events, newest
// first, at most limit, those before the event beforeID when it is set.
func (db *DB) FindEvents(ctx context.Context, id int64, beforeID int64, limit int) ([]*apicron.ScheduleEvent, error) {
	var out []*apicron.ScheduleEvent
	err := db.read(ctx, func(tx *tx) error {
		q, args := "SELECT id, schedule_id, at, kind, actor, detail FROM schedule_events WHERE schedule_id = ?", []any{id}
		if beforeID > 0 {
			q, args = q+" AND id < ?", append(args, beforeID)
		}
		rows, err := tx.query(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e        apicron.ScheduleEvent
				at       int64
				kind, js string
			)
			if err := rows.Scan(&e.ID, &e.ScheduleID, &at, &kind, &e.Actor, &js); err != nil {
				return err
			}
			e.At, e.Kind = fromMs(at), apicron.EventKind(kind)
			if err := json.Unmarshal([]byte(js), &e.Detail); err != nil {
				return fmt.Errorf("decode event %d: %w", e.ID, err)
			}
			out = append(out, &e)
		}
		return rows.Err()
	})
	return out, err
}

// changedFields names the fields of a schedule an update changed, each
// with its new value, as the API spells them.
func changedFields(before, after *apicron.Schedule) map[string]any {
	out := map[string]any{}
	add := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out[name] = eventValue(b)
		}
	}
	add("name", before.Name, after.Name)
	add("target_id", before.TargetID, after.TargetID)
	add("interval_seconds", before.IntervalSeconds, after.IntervalSeconds)
	add("duration_seconds", before.DurationSeconds, after.DurationSeconds)
	add("cron_expression", before.CronExpression, after.CronExpression)
	add("timezone", before.Timezone, after.Timezone)
	add("keep_runs", before.KeepRuns, after.KeepRuns)
	add("run_at", before.RunAt, after.RunAt)
	add("start_at", before.StartAt, after.StartAt)
	add("end_at", before.EndAt, after.EndAt)
	add("max_runs", before.MaxRuns, after.MaxRuns)
	add("jitter_seconds", before.JitterSeconds, after.JitterSeconds)
	add("misfire_grace_seconds", before.MisfireGraceSeconds, after.MisfireGraceSeconds)
	add("overlap_policy", before.OverlapPolicy, after.OverlapPolicy)
	add("max_parallel", before.MaxParallel, after.MaxParallel)
	add("misfire_policy", before.MisfirePolicy, after.MisfirePolicy)
	add("catch_up_max", before.CatchUpMax, after.CatchUpMax)
	return out
}

// eventValue is v as an event's JSON detail holds it: pointers followed,
// times in apicron's format.
func eventValue(v any) any {
	switch x := v.(type) {
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC().Format(apicron.TimeFormat)
	case *int:
		if x == nil {
			return nil
		}
		return *x
	}
	return v
}

// timeDetail formats t for an event's detail; nil for nil.
func timeDetail(t *time.Time) any { return eventValue(t) }
