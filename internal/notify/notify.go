// Package notify delivers one notification to a notifier: a signed JSON
// POST (webhook), a Slack-compatible incoming webhook (slack) or an email
// over SMTP (email). Retries, scheduling and bookkeeping are the caller's.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apicron/apicron"
)

// DefaultTimeout bounds one delivery when Sender.Timeout is zero.
const DefaultTimeout = 10 * time.Second

const (
	maxResponse = 64 << 10 // bytes of a response read at most
	maxExcerpt  = 200      // bytes of a response body quoted in an error
	userAgent   = "apicron"
)

// Sender delivers notifications. Its zero value is usable with defaults.
type Sender struct {
	// Client posts webhook and slack notifications; nil: a client with
	// Timeout. Its redirect policy is replaced: redirects are never followed.
	Client *http.Client
	// TLSConfig is for SMTP TLS (implicit or STARTTLS); nil: the system
	// roots. An empty ServerName is set to the notifier's host.
	TLSConfig *tls.Config
	// Timeout bounds one delivery, on top of the context; 0: DefaultTimeout.
	Timeout time.Duration
	// Now is the clock of the webhook-timestamp and the email Date; nil:
	// time.Now.
	Now func() time.Time
	// Control, when set, vets each address an SMTP connection dials (the
	// outbound policy's executor.Policy.Control), as Client's transport
	// should for webhooks.
	Control func(network, address string, c syscall.RawConn) error
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Send delivers m to n. id names the notification, the same for every retry
// of it: the webhook-id and Idempotency-Key of a webhook, the Message-ID of
// an email. The error says what failed, without the notifier's credentials
// (a slack URL, an SMTP password).
func (s *Sender) Send(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error {
	if n == nil || m == nil {
		return errors.New("notify: nil notifier or message")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	switch n.Type {
	case apicron.NotifierWebhook:
		return s.sendWebhook(ctx, n, id, m)
	case apicron.NotifierSlack:
		return s.sendSlack(ctx, n, m)
	case apicron.NotifierEmail:
		return s.sendEmail(ctx, n, id, m)
	default:
		return fmt.Errorf("notify: unknown notifier type %q", n.Type)
	}
}

func (s *Sender) sendWebhook(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("webhook: encoding the message: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	ts := s.now()
	if id != "" {
		h.Set("Idempotency-Key", id)
		h.Set("webhook-id", id)
	}
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	if len(n.SigningSecrets) > 0 {
		if sig := apicron.SignWebhook(n.SigningSecrets, id, ts, body); sig != "" {
			h.Set("webhook-signature", sig)
		}
	}
	return s.post(ctx, "the webhook", n.URL, h, body, false)
}

func (s *Sender) sendSlack(ctx context.Context, n *apicron.Notifier, m *apicron.AlertMessage) error {
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{slackText(m)})
	if err != nil {
		return fmt.Errorf("slack: encoding the message: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return s.post(ctx, "the slack webhook", n.URL, h, body, true)
}

// post sends body to target and checks for a 2xx answer. what names the
// destination in errors; secretURL keeps the URL, and anything of it past
// the host, out of them.
func (s *Sender) post(ctx context.Context, what, target string, h http.Header, body []byte, secretURL bool) error {
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if secretURL {
			msg = redactURL(msg, target)
		}
		return errors.New(msg)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		if secretURL {
			return fail("%s: invalid URL", what)
		}
		return fail("%s: invalid URL: %v", what, unwrapURLError(err))
	}
	req.Header = h
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client().Do(req)
	if err != nil {
		// A *url.Error quotes the URL: left out, the cause kept.
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return fmt.Errorf("%s: %w", what, cerr)
		}
		return fail("%s: %v", what, unwrapURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	// Read (a bounded part) so that the connection can be reused; a 2xx
	// is a delivery whatever its body.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 3 && resp.Header.Get("Location") != "":
		return fail("%s answered %s, a redirect, which is not followed: configure the final URL", what, statusText(resp))
	}
	if ex := excerpt(raw); ex != "" {
		return fail("%s answered %s: %s", what, statusText(resp), ex)
	}
	return fail("%s answered %s", what, statusText(resp))
}

// client is s.Client, or a default one, that does not follow redirects.
func (s *Sender) client() *http.Client {
	c := &http.Client{Timeout: s.timeout()}
	if s.Client != nil {
		cc := *s.Client
		c = &cc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return strconv.Itoa(resp.StatusCode) + " " + t
	}
	return strconv.Itoa(resp.StatusCode)
}

// unwrapURLError drops the *url.Error wrapper, which names the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL removes raw, and its part past the host, from msg.
func redactURL(msg, raw string) string {
	if raw == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, raw, "[url]")
	if u, err := url.Parse(raw); err == nil {
		for _, p := range []string{u.RawQuery, u.EscapedPath(), u.Path} {
			if len(p) > 1 {
				msg = strings.ReplaceAll(msg, p, "[redacted]")
			}
		}
	}
	return msg
}

// excerpt is the start of a response body fit for an error message: valid
// UTF-8, one line of printable characters, at most maxExcerpt bytes.
func excerpt(b []byte) string {
	var sb strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(string(b), "?") {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
		if sb.Len() > maxExcerpt {
			break
		}
	}
	return truncate(sb.String(), maxExcerpt)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
