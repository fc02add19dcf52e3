package httpapi

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

// AlertSender delivers one notification; internal/notify implements it. The
// API uses it for POST /notifiers/{id}/test.
type AlertSender interface {
	Send(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error
}

// Notifier is a notifier as the API returns it; its secrets are masked.
type Notifier struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name" example:"ops"`
	Type           string       `json:"type" enum:"webhook,slack,email"`
	URL            *string      `json:"url" example:"https://hooks.example.com/apicron" doc:"Where a webhook or slack notifier posts; a slack URL is its credential, so its path is shown as ********"`
	SigningSecrets []string     `json:"signing_secrets" nullable:"false" doc:"A webhook notifier's Standard Webhooks signing secrets, masked"`
	Email          *EmailConfig `json:"email" doc:"An email notifier's server and addresses; the password is shown as ********"`
	LastStatus     *string      `json:"last_status" enum:"sent,failed" doc:"How its latest delivery (or test) went; null before any"`
	LastError      *string      `json:"last_error" doc:"Why its latest delivery failed"`
	LastAttemptAt  *string      `json:"last_attempt_at" format:"date-time"`
	// GeneratedSigningSecret is set once, in the answer that generated it.
	GeneratedSigningSecret *string `json:"generated_signing_secret,omitempty" doc:"The secret \"generate\" made, shown this once: keep it where the receiver verifies signatures"`
	CreatedAt              string  `json:"created_at" format:"date-time"`
	UpdatedAt              string  `json:"updated_at" format:"date-time"`
}

// EmailConfig is an email notifier's SMTP server and addresses.
type EmailConfig struct {
	_        struct{} `json:"-" additionalProperties:"false"`
	Host     string   `json:"host" minLength:"1" example:"smtp.example.com" doc:"The SMTP server's host name or address"`
	Port     int      `json:"port,omitempty" minimum:"1" maximum:"65535" example:"587" doc:"Default 587, or 465 with security tls"`
	Security string   `json:"security,omitempty" enum:"starttls,tls,none" example:"starttls" doc:"starttls (default): a plain connection that must be upgraded with STARTTLS; tls: TLS from the first byte (port 465); none: no TLS, for a relay on a trusted network only, and never with credentials"`
	Username string   `json:"username,omitempty" example:"apicron" doc:"SMTP AUTH user (PLAIN or LOGIN, as the server offers); absent: no authentication"`
	Password string   `json:"password,omitempty" example:"s3cret" doc:"SMTP AUTH password: write-only, encrypted at rest with SECRET_KEY; ******** sent back keeps the stored one"`
	From     string   `json:"from" minLength:"1" example:"apicron <alerts@example.com>"`
	To       []string `json:"to" minItems:"1" maxItems:"50" example:"[\"oncall@example.com\"]"`
}

// NotifierCreate is the body of POST /notifiers.
type NotifierCreate struct {
	_              struct{}     `json:"-" additionalProperties:"false"`
	Name           string       `json:"name" minLength:"1" example:"ops" doc:"Unique"`
	Type           string       `json:"type" enum:"webhook,slack,email" example:"webhook" doc:"webhook: a JSON POST of the alert (see AlertMessage), signed when it has signing_secrets; slack: a Slack-compatible incoming webhook (Slack, Mattermost, Discord's /slack endpoint); email: a message over SMTP"`
	URL            string       `json:"url,omitempty" example:"https://hooks.example.com/apicron" doc:"Required for webhook and slack"`
	SigningSecrets []string     `json:"signing_secrets,omitempty" maxItems:"2" example:"[\"generate\"]" doc:"webhook only: sign each notification by the Standard Webhooks scheme, as a target's signing_secrets do"`
	Email          *EmailConfig `json:"email,omitempty" doc:"Required for email"`
}

// NotifierUpdate is the body of PUT and PATCH /notifiers/{id}: any subset;
// the type cannot change.
type NotifierUpdate struct {
	_              struct{}     `json:"-" additionalProperties:"false"`
	Name           *string      `json:"name,omitempty" minLength:"1"`
	URL            *string      `json:"url,omitempty" doc:"A slack URL sent back as GET shows it (its path masked) keeps the stored one"`
	SigningSecrets *[]string    `json:"signing_secrets,omitempty" maxItems:"2" doc:"Replaces the signing secrets; a masked one keeps that secret"`
	Email          *EmailConfig `json:"email,omitempty" doc:"Replaces the email settings; a password of ******** keeps the stored one"`
}

func newNotifier(n *apicron.Notifier) Notifier {
	out := Notifier{ID: n.ID, Name: n.Name, Type: n.Type, SigningSecrets: maskSigning(n.SigningSecrets),
		LastError: nullString(n.LastError), LastAttemptAt: nullTime(n.LastAttemptAt),
		CreatedAt: formatTime(n.CreatedAt), UpdatedAt: formatTime(n.UpdatedAt)}
	if n.LastStatus != "" {
		out.LastStatus = nullString(string(n.LastStatus))
	}
	if n.URL != "" {
		u := n.URL
		if n.Type == apicron.NotifierSlack {
			u = apicron.MaskURL(u)
		}
		out.URL = &u
	}
	if e := n.Email; e != nil {
		out.Email = &EmailConfig{Host: e.Host, Port: e.Port, Security: e.Security, Username: e.Username, From: e.From,
			To: slices.Clone(e.To)}
		if e.Password != "" {
			out.Email.Password = apicron.MaskedValue
		}
	}
	return out
}

func emailSettings(e *EmailConfig) *apicron.EmailSettings {
	if e == nil {
		return nil
	}
	return &apicron.EmailSettings{Host: e.Host, Port: e.Port, Security: e.Security, Username: e.Username, Password: e.Password,
		From: e.From, To: slices.Clone(e.To)}
}

type createNotifierInput struct {
	RawBody []byte
	Body    NotifierCreate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *createNotifierInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type updateNotifierInput struct {
	ID      int64 `path:"id" doc:"Resource id"`
	RawBody []byte
	Body    NotifierUpdate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *updateNotifierInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type notifierOutput struct {
	Body Notifier
}

type listNotifiersOutput struct {
	TotalCount int        `header:"X-Total-Count" doc:"Number of notifiers in all pages"`
	Body       []Notifier `nullable:"false"`
}

func (s *Server) createNotifier(ctx context.Context, in *createNotifierInput) (*notifierOutput, error) {
	b := in.Body
	n := &apicron.Notifier{Name: b.Name, Type: b.Type, URL: b.URL, Email: emailSettings(b.Email)}
	var (
		generated string
		err       error
	)
	if n.SigningSecrets, generated, err = apicron.ExpandSigningSecrets(b.SigningSecrets); err != nil {
		return nil, s.apiError(ctx, "create notifier", err)
	}
	if n.Email != nil && n.Email.Password == apicron.MaskedValue {
		return nil, s.apiError(ctx, "create notifier", apicron.Invalid("email.password", "a new notifier has no password to keep: send it"))
	}
	if err := s.checkNotifierURL(n); err != nil {
		return nil, s.apiError(ctx, "create notifier", err)
	}
	if err := s.store.CreateNotifier(ctx, n); err != nil {
		return nil, s.apiError(ctx, "create notifier", err)
	}
	out := newNotifier(n)
	out.GeneratedSigningSecret = nullString(generated)
	return &notifierOutput{Body: out}, nil
}

// checkNotifierURL vets a webhook or slack URL with the outbound policy,
// as a target's is: a notifier must not reach what a target may not.
func (s *Server) checkNotifierURL(n *apicron.Notifier) error {
	if n.URL == "" {
		return nil
	}
	return s.checkURL(n.URL)
}

func (s *Server) getNotifier(ctx context.Context, in *idPath) (*notifierOutput, error) {
	n, err := s.store.FindNotifierByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get notifier", err)
	}
	return &notifierOutput{Body: newNotifier(n)}, nil
}

func (s *Server) listNotifiers(ctx context.Context, in *struct{ Paging }) (*listNotifiersOutput, error) {
	list, total, err := s.store.FindNotifiers(ctx, in.Paging.page())
	if err != nil {
		return nil, s.apiError(ctx, "list notifiers", err)
	}
	out := &listNotifiersOutput{TotalCount: total, Body: make([]Notifier, 0, len(list))}
	for _, n := range list {
		out.Body = append(out.Body, newNotifier(n))
	}
	return out, nil
}

func (s *Server) updateNotifier(ctx context.Context, in *updateNotifierInput) (*notifierOutput, error) {
	if _, err := nullFields(in.RawBody, "name", "url", "email"); err != nil {
		return nil, s.apiError(ctx, "update notifier", err)
	}
	b := in.Body
	upd := apicron.NotifierUpdate{Name: b.Name, URL: b.URL, Email: emailSettings(b.Email)}
	var generated string
	if b.SigningSecrets != nil {
		list, g, err := apicron.ExpandSigningSecrets(*b.SigningSecrets)
		if err != nil {
			return nil, s.apiError(ctx, "update notifier", err)
		}
		upd.SigningSecrets, generated = &list, g
	}
	if b.URL != nil {
		// The URL the update leaves, checked unless it is the stored one
		// (a slack URL sent back masked keeps it).
		cur, err := s.store.FindNotifierByID(ctx, in.ID)
		if err != nil {
			return nil, s.apiError(ctx, "update notifier", err)
		}
		next := *cur
		apicron.NotifierUpdate{URL: ptr(strings.TrimSpace(*b.URL))}.Apply(&next)
		if next.URL != cur.URL {
			if err := s.checkNotifierURL(&next); err != nil {
				return nil, s.apiError(ctx, "update notifier", err)
			}
		}
	}
	n, err := s.store.UpdateNotifier(ctx, in.ID, upd)
	if err != nil {
		return nil, s.apiError(ctx, "update notifier", err)
	}
	out := newNotifier(n)
	out.GeneratedSigningSecret = nullString(generated)
	return &notifierOutput{Body: out}, nil
}

func (s *Server) deleteNotifier(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.store.DeleteNotifier(ctx, in.ID); err != nil {
		return nil, s.apiError(ctx, "delete notifier", err)
	}
	return &struct{}{}, nil
}

// NotifierTest is the answer of POST /notifiers/{id}/test.
type NotifierTest struct {
	Delivered bool    `json:"delivered" doc:"Whether the notifier took the test alert"`
	Error     *string `json:"error" doc:"Why it did not"`
	LatencyMs float64 `json:"latency_ms" doc:"How long the delivery took"`
}

type notifierTestOutput struct {
	Body NotifierTest
}

// testNotifier sends a test alert (event "test") at once and says how it went.
func (s *Server) testNotifier(ctx context.Context, in *idPath) (*notifierTestOutput, error) {
	if s.sender == nil {
		return nil, s.apiError(ctx, "test notifier", apicron.Errorf(apicron.EUNAVAILABLE, "this server sends no notifications"))
	}
	n, err := s.store.FindNotifierByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "test notifier", err)
	}
	if n.Sealed {
		return nil, s.apiError(ctx, "test notifier", apicron.Errorf(apicron.ECONFLICT,
			"notifier %d's secrets cannot be decrypted (SECRET_KEY missing or wrong): nothing was sent; send them again", n.ID))
	}
	now := s.now()
	m := &apicron.AlertMessage{Event: apicron.AlertTest, At: apicron.TruncMillis(now),
		Summary: "test alert from apicron to notifier " + n.Name + ": if you read this, alerts reach you"}
	start := time.Now()
	sendErr := s.sender.Send(ctx, n, "apicron-test-"+now.UTC().Format("20060102T150405.000Z"), m)
	out := NotifierTest{Delivered: sendErr == nil, LatencyMs: round2(float64(time.Since(start).Microseconds()) / 1000)}
	if sendErr != nil {
		out.Error = nullString(sendErr.Error())
	}
	if err := s.store.NoteNotifierTest(ctx, n.ID, sendErr); err != nil {
		return nil, s.apiError(ctx, "test notifier", err)
	}
	return &notifierTestOutput{Body: out}, nil
}

// Notification is one alert for one notifier, and how its delivery went.
type Notification struct {
	ID            int64                `json:"id"`
	NotifierID    int64                `json:"notifier_id"`
	ScheduleID    *int64               `json:"schedule_id"`
	RunID         *int64               `json:"run_id" doc:"The run the alert is about"`
	Event         string               `json:"event" enum:"failing,recovered,auto_paused,window_ended"`
	Status        string               `json:"status" enum:"pending,sent,failed" doc:"pending: waiting for its first or next attempt; sent; failed: every attempt failed (6)"`
	Attempts      int                  `json:"attempts"`
	LastError     *string              `json:"last_error" doc:"Why the latest attempt failed"`
	NextAttemptAt *string              `json:"next_attempt_at" format:"date-time" doc:"When a pending notification is tried next"`
	CreatedAt     string               `json:"created_at" format:"date-time"`
	SentAt        *string              `json:"sent_at" format:"date-time"`
	Message       apicron.AlertMessage `json:"message" doc:"The alert, as a webhook notifier posts it"`
}

func newNotification(n *apicron.Notification) Notification {
	return Notification{ID: n.ID, NotifierID: n.NotifierID, ScheduleID: n.ScheduleID, RunID: n.RunID, Event: string(n.Event),
		Status: string(n.Status), Attempts: n.Attempts, LastError: nullString(n.LastError), NextAttemptAt: nullTime(n.NextAttempt),
		CreatedAt: formatTime(n.CreatedAt), SentAt: nullTime(n.SentAt), Message: n.Message}
}

type listNotificationsInput struct {
	Paging
	ScheduleID int64  `query:"schedule_id" minimum:"1" doc:"Only this schedule's"`
	NotifierID int64  `query:"notifier_id" minimum:"1" doc:"Only this notifier's"`
	Status     string `query:"status" enum:"pending,sent,failed" doc:"Only those in this status"`
}

type listNotificationsOutput struct {
	TotalCount int            `header:"X-Total-Count" doc:"Number of matching notifications in all pages"`
	Body       []Notification `nullable:"false"`
}

func (s *Server) listNotifications(ctx context.Context, in *listNotificationsInput) (*listNotificationsOutput, error) {
	f := apicron.NotificationFilter{Page: in.Paging.page()}
	if in.ScheduleID != 0 {
		f.ScheduleID = &in.ScheduleID
	}
	if in.NotifierID != 0 {
		f.NotifierID = &in.NotifierID
	}
	if in.Status != "" {
		st := apicron.NotificationStatus(in.Status)
		f.Status = &st
	}
	list, total, err := s.store.FindNotifications(ctx, f)
	if err != nil {
		return nil, s.apiError(ctx, "list notifications", err)
	}
	out := &listNotificationsOutput{TotalCount: total, Body: make([]Notification, 0, len(list))}
	for _, n := range list {
		out.Body = append(out.Body, newNotification(n))
	}
	return out, nil
}

// AlertRuleBody is an alert rule as a client writes it: absent fields take
// their defaults.
type AlertRuleBody struct {
	_                struct{} `json:"-" additionalProperties:"false"`
	NotifierIDs      []int64  `json:"notifier_ids" maxItems:"10" example:"[1]" doc:"The notifiers told; [] tells nobody (the schedule then ignores the default rule)"`
	FailureThreshold *int     `json:"failure_threshold,omitempty" minimum:"1" maximum:"1000" example:"3" doc:"Consecutive failures that raise a failing alert (default 3). Every final status but SUCCESS is a failure; INTERRUPTED counts neither way"`
	SuccessThreshold *int     `json:"success_threshold,omitempty" minimum:"1" maximum:"1000" example:"1" doc:"Consecutive successes, after a failing alert, that raise a recovered one (default 1)"`
	RealertMinutes   *int     `json:"realert_minutes,omitempty" minimum:"0" maximum:"10080" example:"60" doc:"Repeat the failing alert this often while failures go on (default 0: once)"`
	OnAutoPause      *bool    `json:"on_auto_pause,omitempty" doc:"Also tell when auto_pause_after pauses the schedule (default true)"`
	OnWindowEnd      *bool    `json:"on_window_end,omitempty" doc:"Also tell when a WINDOW schedule's window ends (default false)"`
}

// AlertRule is an alert rule as the API returns it, defaults filled in.
type AlertRule struct {
	NotifierIDs      []int64 `json:"notifier_ids" nullable:"false"`
	FailureThreshold int     `json:"failure_threshold"`
	SuccessThreshold int     `json:"success_threshold"`
	RealertMinutes   int     `json:"realert_minutes"`
	OnAutoPause      bool    `json:"on_auto_pause"`
	OnWindowEnd      bool    `json:"on_window_end"`
}

func (b *AlertRuleBody) rule() *apicron.AlertRule {
	r := &apicron.AlertRule{NotifierIDs: slices.Clone(b.NotifierIDs), OnAutoPause: true}
	if b.FailureThreshold != nil {
		r.FailureThreshold = *b.FailureThreshold
	}
	if b.SuccessThreshold != nil {
		r.SuccessThreshold = *b.SuccessThreshold
	}
	if b.RealertMinutes != nil {
		r.RealertMinutes = *b.RealertMinutes
	}
	if b.OnAutoPause != nil {
		r.OnAutoPause = *b.OnAutoPause
	}
	if b.OnWindowEnd != nil {
		r.OnWindowEnd = *b.OnWindowEnd
	}
	r.Normalize()
	return r
}

func newAlertRule(r *apicron.AlertRule) *AlertRule {
	if r == nil {
		return nil
	}
	return &AlertRule{NotifierIDs: slices.Clone(r.NotifierIDs), FailureThreshold: r.FailureThreshold,
		SuccessThreshold: r.SuccessThreshold, RealertMinutes: r.RealertMinutes, OnAutoPause: r.OnAutoPause, OnWindowEnd: r.OnWindowEnd}
}

// AlertState is a schedule's streaks and alert status.
type AlertState struct {
	Status               string  `json:"status" enum:"ok,failing" doc:"failing from the failing alert until the recovered one"`
	ConsecutiveFailures  int64   `json:"consecutive_failures"`
	ConsecutiveSuccesses int64   `json:"consecutive_successes"`
	FailingSince         *string `json:"failing_since" format:"date-time" doc:"When the current streak of failures began"`
	AlertedAt            *string `json:"alerted_at" format:"date-time" doc:"When the latest failing alert was raised"`
}

func newAlertState(st *apicron.AlertState) *AlertState {
	return &AlertState{Status: string(st.Status), ConsecutiveFailures: st.ConsecutiveFailures,
		ConsecutiveSuccesses: st.ConsecutiveSuccesses, FailingSince: nullTime(st.FailingSince), AlertedAt: nullTime(st.AlertedAt)}
}

type defaultRuleOutput struct {
	Body *AlertRule
}

type putDefaultRuleInput struct {
	RawBody []byte
	Body    AlertRuleBody
}

// Resolve refuses a body that is not valid UTF-8.
func (in *putDefaultRuleInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

func (s *Server) getDefaultRule(ctx context.Context, _ *struct{}) (*defaultRuleOutput, error) {
	r, err := s.store.DefaultAlertRule(ctx)
	if err != nil {
		return nil, s.apiError(ctx, "get default alert rule", err)
	}
	if r == nil {
		return nil, s.apiError(ctx, "get default alert rule", apicron.Errorf(apicron.ENOTFOUND, "there is no default alert rule"))
	}
	return &defaultRuleOutput{Body: newAlertRule(r)}, nil
}

func (s *Server) putDefaultRule(ctx context.Context, in *putDefaultRuleInput) (*defaultRuleOutput, error) {
	r := in.Body.rule()
	if err := r.Validate(""); err != nil {
		return nil, s.apiError(ctx, "set default alert rule", err)
	}
	if err := s.store.SetDefaultAlertRule(ctx, r); err != nil {
		return nil, s.apiError(ctx, "set default alert rule", err)
	}
	return &defaultRuleOutput{Body: newAlertRule(r)}, nil
}

func (s *Server) deleteDefaultRule(ctx context.Context, _ *struct{}) (*struct{}, error) {
	if err := s.store.SetDefaultAlertRule(ctx, nil); err != nil {
		return nil, s.apiError(ctx, "delete default alert rule", err)
	}
	return &struct{}{}, nil
}
