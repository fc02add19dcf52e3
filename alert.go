package apicron

import (
	"slices"
	"time"
)

// Alert rule bounds and defaults.
const (
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	MaxAlertThreshold       = 1000
	MaxRealertMinutes       = 7 * 24 * 60
	MaxAlertNotifiers       = 10
	MaxAutoPauseAfter       = 10000
)

// AlertRule says when a schedule's failures and recoveries are told, and to
// which notifiers. A schedule without one follows the default rule
// (PUT /alerts/default), if there is one.
type AlertRule struct {
	NotifierIDs []int64 `json:"notifier_ids"`
	// FailureThreshold consecutive failures raise a failing alert;
	// SuccessThreshold consecutive successes after it a recovered one.
	FailureThreshold int `json:"failure_threshold"`
	SuccessThreshold int `json:"success_threshold"`
	// RealertMinutes repeats the failing alert that often while the
	// failures go on (0: once).
	RealertMinutes int `json:"realert_minutes"`
	// OnAutoPause and OnWindowEnd also tell when auto_pause_after paused
	// the schedule and when a WINDOW schedule's window ends.
	OnAutoPause bool `json:"on_auto_pause"`
	OnWindowEnd bool `json:"on_window_end"`
}

// Normalize fills in the defaults of zero thresholds and sorts the
// notifier ids.
func (r *AlertRule) Normalize() {
	if r.FailureThreshold == 0 {
		r.FailureThreshold = DefaultFailureThreshold
	}
	if r.SuccessThreshold == 0 {
		r.SuccessThreshold = DefaultSuccessThreshold
	}
	if r.NotifierIDs == nil {
		r.NotifierIDs = []int64{}
	}
	slices.Sort(r.NotifierIDs)
	r.NotifierIDs = slices.Compact(r.NotifierIDs)
}

// Validate checks r; field prefixes the fields it names ("alert", or "" for the default rule).
func (r *AlertRule) Validate(field string) error {
	at := func(name string) string {
		if field == "" {
			return name
		}
		return field + "." + name
	}
	if len(r.NotifierIDs) > MaxAlertNotifiers {
		return Invalid(at("notifier_ids"), "takes at most %d notifiers, got %d", MaxAlertNotifiers, len(r.NotifierIDs))
	}
	for _, id := range r.NotifierIDs {
		if id <= 0 {
			return Invalid(at("notifier_ids"), "must hold positive notifier ids, got %d", id)
		}
	}
	if r.FailureThreshold < 1 || r.FailureThreshold > MaxAlertThreshold {
		return Invalid(at("failure_threshold"), "must be between 1 and %d, got %d", MaxAlertThreshold, r.FailureThreshold)
	}
	if r.SuccessThreshold < 1 || r.SuccessThreshold > MaxAlertThreshold {
		return Invalid(at("success_threshold"), "must be between 1 and %d, got %d", MaxAlertThreshold, r.SuccessThreshold)
	}
	if r.RealertMinutes < 0 || r.RealertMinutes > MaxRealertMinutes {
		return Invalid(at("realert_minutes"), "must be between 0 (never) and %d, got %d", MaxRealertMinutes, r.RealertMinutes)
	}
	return nil
}

// AlertStatus is where a schedule's alerting stands.
type AlertStatus string

// Alert statuses.
const (
	AlertStateOK      AlertStatus = "ok"
	AlertStateFailing AlertStatus = "failing"
)

// AlertState is a schedule's streaks and alert status, kept with its
// counters and changed only by the transaction that records a run.
type AlertState struct {
	Status               AlertStatus
	ConsecutiveFailures  int64
	ConsecutiveSuccesses int64
	// FailingSince is when the current streak of failures began (the first
	// failed run's finish); nil without one.
	FailingSince *time.Time
	// AlertedAt is when the latest failing alert was raised.
	AlertedAt *time.Time
}

// CountsAsFailure reports whether a run that ended in status (with
// errorType) counts against a schedule's streak: every final status but
// SUCCESS, except those that say nothing of the target: INTERRUPTED (a
// shutdown or a replace) and the runs apicron held back itself, unsent
// (host_limit, rate_limit), which count neither way.
func CountsAsFailure(status RunStatus, errorType string) (failure, counted bool) {
	switch {
	case status == Success:
		return false, true
	case status == Interrupted, errorType == ErrHostLimit, errorType == ErrRateLimit:
		return false, false
	default:
		return true, true
	}
}

// Notification is one alert for one notifier, and how its delivery went.
type Notification struct {
	ID          int64
	NotifierID  int64
	ScheduleID  *int64
	RunID       *int64
	Event       AlertEvent
	Message     AlertMessage
	Status      NotificationStatus
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	SentAt      *time.Time
	NextAttempt *time.Time
}

// NotificationFilter selects notifications for GET /notifications.
type NotificationFilter struct {
	ScheduleID *int64
	NotifierID *int64
	Status     *NotificationStatus
	Page
}

// NotificationJob is a notification a node delivers: the alert and its
// notifier, secrets decrypted.
type NotificationJob struct {
	ID       int64
	Attempt  int       // 1 for the first
	Notifier *Notifier // nil when Error says why it cannot be sent
	Message  *AlertMessage
	Error    string
}
