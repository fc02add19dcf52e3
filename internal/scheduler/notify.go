package scheduler

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// Outbox is the store's side of alert delivery.
type Outbox interface {
	// TakeNotifications leases up to limit notifications due by now to this
	// node, each counted as an attempt.
	TakeNotifications(ctx context.Context, now time.Time, limit int) ([]*apicron.NotificationJob, error)
	// FinishNotification records how attempt of notification id went.
	FinishNotification(ctx context.Context, id int64, attempt int, sendErr error) error
}

// AlertSender delivers one notification (internal/notify implements it).
type AlertSender interface {
	Send(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error
}

const (
	notifyEvery = time.Second
	notifyBatch = 20
	// notifyWriteTimeout bounds recording a delivery's outcome, which
	// outlives a shutdown that cut the delivery off.
	notifyWriteTimeout = 5 * time.Second
)

// NotificationID is the id a notification is delivered under (webhook-id,
// Idempotency-Key, Message-ID): the same for every attempt and node.
func NotificationID(id int64) string { return "apicron-notification-" + strconv.FormatInt(id, 10) }

// notifyLoop delivers due notifications every second while this node may
// claim (the leader, or the only node).
func (s *Scheduler) notifyLoop(ctx context.Context) {
	s.leaderLoop(ctx, notifyEvery, notifyEvery, func() { s.DeliverNotifications(ctx) })
}

// DeliverNotifications sends the notifications due now, at once and each
// on its own (a slow notifier delays no other), records each outcome, and
// returns how many it tried. The loop calls it every second; tests call it
// directly.
func (s *Scheduler) DeliverNotifications(ctx context.Context) int {
	jobs, err := s.cfg.Outbox.TakeNotifications(ctx, s.cfg.Clock.Now(), notifyBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("take notifications; retrying", "error", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			var err error
			if j.Notifier == nil {
				err = errors.New(j.Error)
			} else {
				err = s.cfg.Sender.Send(ctx, j.Notifier, NotificationID(j.ID), j.Message)
			}
			if err != nil && ctx.Err() != nil {
				return // cut off by shutdown: the lease runs out and another attempt sends it
			}
			kind := "unknown"
			if j.Notifier != nil {
				kind = j.Notifier.Type
			}
			s.cfg.Metrics.NotificationDelivered(kind, err)
			if err != nil {
				s.logger.Warn("notification not delivered", append(notificationAttrs(j),
					"attempt", j.Attempt, "event", j.Message.Event, "error", err)...)
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyWriteTimeout)
			defer cancel()
			if ferr := s.cfg.Outbox.FinishNotification(wctx, j.ID, j.Attempt, err); ferr != nil {
				s.logger.Warn("record notification delivery", append(notificationAttrs(j), "error", ferr)...)
			}
		})
	}
	wg.Wait()
	return len(jobs)
}

// notificationAttrs are the log attributes that say which notification a
// line is about and, when it is about one, which schedule and run.
func notificationAttrs(j *apicron.NotificationJob) []any {
	attrs := []any{"notification_id", j.ID}
	if j.Message == nil {
		return attrs
	}
	if j.Message.Schedule != nil {
		attrs = append(attrs, "schedule_id", j.Message.Schedule.ID)
	}
	if j.Message.LastRun != nil {
		attrs = append(attrs, "run_id", j.Message.LastRun.ID)
	}
	return attrs
}
