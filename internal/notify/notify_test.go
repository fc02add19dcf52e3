package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/apicron/apicron"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// received is one request a test server got.
type received struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// recorder is an httptest server that records the requests it gets and
// answers with answer.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newRecorder(t *testing.T, answer http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, received{r.Method, r.URL.Path, r.Header.Clone(), b})
		rec.mu.Unlock()
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.reqs...)
}

func testMessage() *apicron.AlertMessage {
	code := 503
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	since := at.Add(-time.Hour)
	finished := at.Add(-time.Second)
	return &apicron.AlertMessage{
		Event:               apicron.AlertFailing,
		At:                  at,
		Summary:             `Schedule "nightly-sync" is failing: 3 consecutive failures`,
		Schedule:            &apicron.AlertSubject{ID: 7, Name: "nightly-sync", Status: "ACTIVE"},
		Target:              &apicron.AlertSubject{ID: 3, Name: "billing-api", URL: "https://billing.example.com/sync"},
		LastRun:             &apicron.AlertRun{ID: 42, Status: apicron.Failed, StatusCode: &code, ErrorType: apicron.ErrHTTP5xx, ErrorMessage: "service unavailable", ScheduledAt: at.Add(-2 * time.Second), FinishedAt: &finished},
		ConsecutiveFailures: 3,
		FailingSince:        &since,
	}
}

func webhookNotifier(url string, secrets ...string) *apicron.Notifier {
	return &apicron.Notifier{ID: 1, Name: "hook", Type: apicron.NotifierWebhook, URL: url, SigningSecrets: secrets}
}

// TestWebhook: the POST carries the message as JSON, the notification id as
// webhook-id and Idempotency-Key, and a signature that the Standard Webhooks
// reference verifier accepts under each of two secrets (a rotation) alone,
// and refuses under another.
func TestWebhook(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	oldSecret, newSecret, other := apicron.NewSigningSecret(), apicron.NewSigningSecret(), apicron.NewSigningSecret()
	now := time.Now().Truncate(time.Second)
	s := &Sender{Now: func() time.Time { return now }}
	m := testMessage()
	const id = "notif-17"
	if err := s.Send(context.Background(), webhookNotifier(rec.URL+"/hooks/in", oldSecret, newSecret), id, m); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/hooks/in" {
		t.Errorf("got %s %s, want POST /hooks/in", r.method, r.path)
	}
	for k, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "apicron",
		"Idempotency-Key":   id,
		"Webhook-Id":        id,
		"Webhook-Timestamp": strconv.FormatInt(now.Unix(), 10),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	var got apicron.AlertMessage
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Errorf("body decodes to\n%+v\nwant\n%+v", got, *m)
	}
	for name, secret := range map[string]string{"old": oldSecret, "new": newSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("the %s secret alone does not verify: %v", name, err)
		}
	}
	wh, err := standardwebhooks.NewWebhook(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.body, r.header); err == nil {
		t.Error("another secret verifies")
	}

	// Without secrets: the same, unsigned.
	if err := s.Send(context.Background(), webhookNotifier(rec.URL), id, m); err != nil {
		t.Fatal(err)
	}
	if r := rec.requests()[1]; r.header.Get("webhook-signature") != "" || r.header.Get("webhook-id") != id {
		t.Errorf("unsigned webhook headers: %v", r.header)
	}
}

// TestWebhookErrorAnswer: a 500 is an error naming the status and quoting
// the start of the body on one printable line of at most 200 bytes.
func TestWebhookErrorAnswer(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "database\r\n\tdown\x00\x1b[31m "+strings.Repeat("é", 300))
	})
	err := (&Sender{}).Send(context.Background(), webhookNotifier(rec.URL), "n1", testMessage())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "500 Internal Server Error") || !strings.Contains(msg, "database down") {
		t.Errorf("error %q: want the status and the body's start", msg)
	}
	_, ex, _ := strings.Cut(msg, "Internal Server Error: ")
	if len(ex) > maxExcerpt {
		t.Errorf("excerpt of %d bytes, want at most %d", len(ex), maxExcerpt)
	}
	for _, r := range msg {
		if !unicode.IsPrint(r) {
			t.Errorf("error %q has the unprintable %U", msg, r)
		}
	}
}

// TestWebhookRedirect: a redirect is not followed, even by a client that
// would, and is an error saying so.
func TestWebhookRedirect(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
		}
	})
	for name, s := range map[string]*Sender{
		"default client": {},
		"own client":     {Client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}},
	} {
		err := s.Send(context.Background(), webhookNotifier(rec.URL+"/old"), "n1", testMessage())
		if err == nil || !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%s: error %v, want one about a 307 redirect", name, err)
		}
	}
	for _, r := range rec.requests() {
		if r.path != "/old" {
			t.Errorf("the redirect was followed to %s", r.path)
		}
	}
}

// TestWebhookTimeout: Timeout bounds a delivery to a server that does not
// answer.
func TestWebhookTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rec := newRecorder(t, func(http.ResponseWriter, *http.Request) { <-release })
	defer close(release) // before the server's Close, which waits for the handler
	start := time.Now()
	err := (&Sender{Timeout: 50 * time.Millisecond}).Send(context.Background(), webhookNotifier(rec.URL), "n1", testMessage())
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
}

const slackPath = "/services/T0001/B0002/s3cr3tT0k3n"

// TestSlack: the body is {"text": ...} with the summary in bold and the
// details, names escaped.
func TestSlack(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	m := testMessage()
	m.Target.Name = "<!channel> & co"
	n := &apicron.Notifier{ID: 2, Name: "chat", Type: apicron.NotifierSlack, URL: rec.URL + slackPath}
	if err := (&Sender{}).Send(context.Background(), n, "n1", m); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].path != slackPath || reqs[0].header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests: %+v", reqs)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	text, ok := body["text"].(string)
	if len(body) != 1 || !ok {
		t.Fatalf("body %s: want only a text string", reqs[0].body)
	}
	if !strings.HasPrefix(text, "*"+m.Summary+"*\n") {
		t.Errorf("text %q does not start with the bold summary", text)
	}
	for _, want := range []string{
		"Schedule: nightly-sync (#7, ACTIVE)",
		"Target: &lt;!channel&gt; &amp; co (#3) https://billing.example.com/sync",
		"Last run: #42 FAILED, HTTP 503, http_5xx: service unavailable",
		"Consecutive failures: 3",
		"When: 2025-03-04T05:06:07Z",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	if strings.Contains(text, "<!channel>") {
		t.Error("a name injects a mention")
	}
}

// TestSlackErrorHidesURL: errors, of an answer or of the connection, do not
// quote the webhook URL, its credential.
func TestSlackErrorHidesURL(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service for "+r.URL.Path)
	})
	n := &apicron.Notifier{Type: apicron.NotifierSlack, URL: rec.URL + slackPath}
	err := (&Sender{}).Send(context.Background(), n, "n1", testMessage())
	if err == nil || !strings.Contains(err.Error(), "slack webhook answered 404") || !strings.Contains(err.Error(), "no_service") {
		t.Errorf("error %v, want the slack webhook's 404 and its no_service", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	n2 := &apicron.Notifier{Type: apicron.NotifierSlack, URL: closed.URL + slackPath + "?token=q5ecret"}
	err2 := (&Sender{}).Send(context.Background(), n2, "n1", testMessage())
	if err2 == nil {
		t.Fatal("no error from a closed server")
	}
	for _, err := range []error{err, err2} {
		if msg := err.Error(); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "/services") || strings.Contains(msg, "q5ecret") {
			t.Errorf("error %q quotes the URL", msg)
		}
	}
}

// TestSendRefusesUnknownType: an unknown notifier type is an error.
func TestSendRefusesUnknownType(t *testing.T) {
	t.Parallel()
	if err := (&Sender{}).Send(context.Background(), &apicron.Notifier{Type: "pager"}, "n1", testMessage()); err == nil {
		t.Error("no error")
	}
}
