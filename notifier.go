package apicron

import (
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Notifier types: where an alert goes.
const (
	NotifierWebhook = "webhook" // a JSON POST, signed by the Standard Webhooks scheme when it has signing secrets
	NotifierSlack   = "slack"   // a Slack-compatible incoming webhook (also Mattermost, Discord's /slack endpoint)
	NotifierEmail   = "email"   // a message over SMTP
)

// NotifierTypes lists the notifier types.
var NotifierTypes = []string{NotifierWebhook, NotifierSlack, NotifierEmail}

// SMTP transport security of an email notifier.
const (
	SMTPStartTLS = "starttls" // plain connection upgraded with STARTTLS, which must be offered (the default)
	SMTPTLS      = "tls"      // TLS from the first byte (SMTPS, usually port 465)
	SMTPNone     = "none"     // no TLS: only for a relay on a trusted network
)

// SMTPSecurities lists the values of EmailSettings.Security.
var SMTPSecurities = []string{SMTPStartTLS, SMTPTLS, SMTPNone}

// MaxEmailRecipients bounds an email notifier's To list.
const MaxEmailRecipients = 50

// Notifier is a destination for alerts.
type Notifier struct {
	ID   int64
	Name string
	Type string
	// URL is where a webhook or slack notifier posts. For slack it is
	// usually secret (the URL is the credential): the API masks its path.
	URL string
	// SigningSecrets sign a webhook notifier's requests (write-only,
	// encrypted at rest), as a target's do.
	SigningSecrets []string
	// Email is an email notifier's server and addresses.
	Email     *EmailSettings
	CreatedAt time.Time
	UpdatedAt time.Time
	// Sealed says a secret of it could not be decrypted (SECRET_KEY
	// missing or wrong): it cannot be used until it is, or is sent again.
	Sealed bool
	// LastStatus, LastError and LastAttemptAt say how its latest delivery
	// went ("" before any): read-only, for /health and the API.
	LastStatus    NotificationStatus
	LastError     string
	LastAttemptAt *time.Time
}

// EmailSettings are an email notifier's: the SMTP server, its credentials
// and the addresses.
type EmailSettings struct {
	Host     string
	Port     int
	Security string // SMTPStartTLS, SMTPTLS or SMTPNone
	Username string
	Password string // write-only, encrypted at rest
	From     string
	To       []string
}

// NotifierUpdate holds the fields of a partial update; nil leaves a field
// as it is. A secret sent back as its mask keeps the stored one.
type NotifierUpdate struct {
	Name           *string
	URL            *string
	SigningSecrets *[]string
	Email          *EmailSettings
}

// Apply copies the set fields of u onto n, keeping masked secrets.
func (u NotifierUpdate) Apply(n *Notifier) {
	if u.Name != nil {
		n.Name = *u.Name
	}
	if u.URL != nil {
		if n.Type != NotifierSlack || *u.URL != MaskURL(n.URL) {
			n.URL = *u.URL
		}
	}
	if u.SigningSecrets != nil {
		n.SigningSecrets = keepMaskedSigning(n.SigningSecrets, *u.SigningSecrets)
	}
	if u.Email != nil {
		e := *u.Email
		e.To = slices.Clone(e.To)
		if e.Password == MaskedValue && n.Email != nil {
			e.Password = n.Email.Password
		}
		n.Email = &e
	}
}

// keepMaskedSigning returns next with each entry that is the mask of a
// current secret replaced by that secret (each current one kept once).
func keepMaskedSigning(current, next []string) []string {
	out := make([]string, 0, len(next))
	used := make([]bool, len(current))
	for _, s := range next {
		for j, old := range current {
			if !used[j] && s == MaskSigningSecret(old) {
				s, used[j] = old, true
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// MaskURL is how the API shows a slack notifier's URL: scheme and host, the
// rest (path and query, the credential) masked.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return MaskedValue
	}
	return u.Scheme + "://" + u.Host + "/" + MaskedValue
}

// Normalize canonicalizes n's fields.
func (n *Notifier) Normalize() {
	n.Name = strings.TrimSpace(n.Name)
	n.Type = strings.ToLower(strings.TrimSpace(n.Type))
	n.URL = strings.TrimSpace(n.URL)
	if e := n.Email; e != nil {
		e.Host = strings.TrimSpace(e.Host)
		e.Security = strings.ToLower(strings.TrimSpace(e.Security))
		if e.Security == "" {
			e.Security = SMTPStartTLS
		}
		if e.Port == 0 {
			e.Port = 587
			if e.Security == SMTPTLS {
				e.Port = 465
			}
		}
	}
}

// Validate returns an EINVALID error naming the first field that breaks a rule.
func (n *Notifier) Validate() error {
	if err := ValidateName("name", n.Name); err != nil {
		return err
	}
	switch n.Type {
	case NotifierWebhook, NotifierSlack:
		if err := ValidateURL("url", n.URL); err != nil {
			return err
		}
		if len(n.URL) > MaxURLLength {
			return Invalid("url", "must be at most %d characters, got %d", MaxURLLength, len(n.URL))
		}
		if n.Email != nil {
			return Invalid("email", "is for email notifiers; a %s notifier takes url", n.Type)
		}
		if n.Type == NotifierSlack && len(n.SigningSecrets) > 0 {
			return Invalid("signing_secrets", "are for webhook notifiers: a slack webhook's URL is its credential")
		}
		return ValidateSigningSecrets(n.SigningSecrets)
	case NotifierEmail:
		if n.URL != "" {
			return Invalid("url", "is for webhook and slack notifiers; an email notifier takes email")
		}
		if len(n.SigningSecrets) > 0 {
			return Invalid("signing_secrets", "are for webhook notifiers")
		}
		if n.Email == nil {
			return Invalid("email", "is required for an email notifier: host, from and to at least")
		}
		return n.Email.validate()
	default:
		return Invalid("type", "must be one of %s, got %q", strings.Join(NotifierTypes, ", "), n.Type)
	}
}

func (e *EmailSettings) validate() error {
	bad := func(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
	switch {
	case e.Host == "" || bad(e.Host) || strings.ContainsAny(e.Host, " /:"):
		return Invalid("email.host", "must be a host name or address, without a port (that is email.port)")
	case e.Port < 1 || e.Port > 65535:
		return Invalid("email.port", "must be from 1 to 65535, got %d", e.Port)
	case !slices.Contains(SMTPSecurities, e.Security):
		return Invalid("email.security", "must be one of %s, got %q", strings.Join(SMTPSecurities, ", "), e.Security)
	case bad(e.Username) || bad(e.Password):
		return Invalid("email.username", "username and password must not contain a line break")
	case e.Password != "" && e.Username == "":
		return Invalid("email.username", "is required with a password")
	case e.Password == MaskedValue:
		return Invalid("email.password", "is the mask %s, not a value: send the real password", MaskedValue)
	case e.Username != "" && e.Security == SMTPNone:
		return Invalid("email.security", `must not be "none" with credentials: they would travel in clear`)
	}
	if _, err := mail.ParseAddress(e.From); err != nil || bad(e.From) {
		return Invalid("email.from", "must be an email address, got %q", e.From)
	}
	if len(e.To) == 0 || len(e.To) > MaxEmailRecipients {
		return Invalid("email.to", "takes 1 to %d addresses, got %d", MaxEmailRecipients, len(e.To))
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil || bad(to) {
			return Invalid("email.to", "entry %d must be an email address, got %q", i, to)
		}
	}
	return nil
}

// AlertEvent is what a notification says happened.
type AlertEvent string

// Alert events.
const (
	AlertFailing     AlertEvent = "failing"      // failure_threshold consecutive failures (or a re-alert while still failing)
	AlertRecovered   AlertEvent = "recovered"    // success_threshold consecutive successes after failing
	AlertAutoPaused  AlertEvent = "auto_paused"  // auto_pause_after consecutive failures paused the schedule
	AlertWindowEnded AlertEvent = "window_ended" // a WINDOW schedule's window closed
	AlertTest        AlertEvent = "test"         // POST /notifiers/{id}/test
)

// AlertMessage is what a notification carries: the webhook notifier's JSON
// body, and what the slack and email ones are written from.
type AlertMessage struct {
	Event AlertEvent `json:"event" enum:"failing,recovered,auto_paused,window_ended,test" example:"failing" doc:"What happened"`
	// Realert: a reminder that the schedule is still failing.
	Realert bool      `json:"realert,omitempty" doc:"A failing alert repeated after realert_minutes, the failures going on"`
	At      time.Time `json:"at" doc:"When the alert was raised"`
	// Summary is one line for people: what happened, to what.
	Summary             string        `json:"summary" example:"schedule \"billing-sync\" is failing: 3 consecutive failures; last FAILED (http_5xx): 503 Service Unavailable" doc:"One line for people"`
	Schedule            *AlertSubject `json:"schedule,omitempty" doc:"The schedule (id, name, status)"`
	Target              *AlertSubject `json:"target,omitempty" doc:"Its target (id, name, url template)"`
	LastRun             *AlertRun     `json:"last_run,omitempty" doc:"The run that changed the state"`
	ConsecutiveFailures int64         `json:"consecutive_failures" example:"3" doc:"The failures in a row when the alert was raised (0 in a recovered alert)"`
	// ConsecutiveSuccesses is a recovered alert's.
	ConsecutiveSuccesses int64 `json:"consecutive_successes,omitempty" example:"1" doc:"A recovered alert's successes in a row"`
	// FailingSince is when the current streak of failures began.
	FailingSince *time.Time `json:"failing_since,omitempty" doc:"When the current streak of failures began"`
}

// AlertSubject names a schedule or target in an alert.
type AlertSubject struct {
	ID     int64  `json:"id" example:"7"`
	Name   string `json:"name" example:"billing-sync"`
	Status string `json:"status,omitempty" example:"ACTIVE" doc:"A schedule's status"`
	URL    string `json:"url,omitempty" example:"https://billing.example.com/sync" doc:"A target's URL (its template)"`
}

// AlertRun is the run an alert is about.
type AlertRun struct {
	ID           int64      `json:"id" example:"9812"`
	Status       RunStatus  `json:"status" example:"FAILED"`
	StatusCode   *int       `json:"status_code,omitempty" example:"503"`
	ErrorType    string     `json:"error_type,omitempty" example:"http_5xx"`
	ErrorMessage string     `json:"error_message,omitempty" example:"503 Service Unavailable"`
	ScheduledAt  time.Time  `json:"scheduled_at" doc:"The occurrence the run was for"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

// NotificationStatus is where a notification's delivery stands.
type NotificationStatus string

// Notification statuses.
const (
	NotificationPending NotificationStatus = "pending" // waiting for its first or next attempt
	NotificationSent    NotificationStatus = "sent"
	NotificationFailed  NotificationStatus = "failed" // every attempt failed
)
