package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// notifiersPage is how many notifiers, and notifications, a page shows.
const notifiersPage = 50

type notifiersData struct {
	Rows        []notifierRow
	Total       int
	Rule        *apicron.AlertRule // the default rule; nil: none
	RuleErr     fieldError
	All         []*apicron.Notifier // for the rule's choices
	Prev, Next  int
	CanTest     bool
	RuleChecked []string
}

// notifierRow is a notifier as the API shows it: secrets masked.
type notifierRow struct {
	*apicron.Notifier
	ShownURL string
	Signing  []string
}

func newNotifierRow(n *apicron.Notifier) notifierRow {
	row := notifierRow{Notifier: n, ShownURL: n.URL}
	if n.Type == apicron.NotifierSlack {
		row.ShownURL = apicron.MaskURL(n.URL)
	}
	for _, s := range n.SigningSecrets {
		row.Signing = append(row.Signing, apicron.MaskSigningSecret(s))
	}
	return row
}

func (h *Handler) listNotifiers(w http.ResponseWriter, r *http.Request) {
	h.renderNotifiers(w, r, http.StatusOK, fieldError{})
}

func (h *Handler) renderNotifiers(w http.ResponseWriter, r *http.Request, status int, ruleErr fieldError) {
	ctx := r.Context()
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	list, total, err := h.store.FindNotifiers(ctx, apicron.Page{Limit: notifiersPage, Offset: offset})
	if err != nil {
		h.failErr(w, r, "list notifiers", err)
		return
	}
	d := notifiersData{Total: total, RuleErr: ruleErr, Prev: -1, Next: -1, CanTest: h.sender != nil}
	for _, n := range list {
		d.Rows = append(d.Rows, newNotifierRow(n))
	}
	if d.All, _, err = h.store.FindNotifiers(ctx, apicron.Page{Limit: targetChoices}); err != nil {
		h.failErr(w, r, "list notifiers", err)
		return
	}
	if d.Rule, err = h.store.DefaultAlertRule(ctx); err != nil {
		h.failErr(w, r, "list notifiers", err)
		return
	}
	if d.Rule != nil {
		for _, id := range d.Rule.NotifierIDs {
			d.RuleChecked = append(d.RuleChecked, strconv.FormatInt(id, 10))
		}
		if d.All, err = h.withNotifiers(ctx, d.All, d.RuleChecked); err != nil {
			h.failErr(w, r, "list notifiers", err)
			return
		}
	}
	if offset > 0 {
		d.Prev = max(offset-notifiersPage, 0)
	}
	if offset+len(list) < total {
		d.Next = offset + len(list)
	}
	h.render(w, r, status, "notifiers", "Notifiers", "notifiers", d)
}

// notifierForm is a notifier's form; the password and a slack URL are
// shown masked, and the mask sent back keeps them (NotifierUpdate.Apply).
type notifierForm struct {
	ID                   int64
	Name, Type, URL      string
	Host, Port, Security string
	Username, Password   string
	From, To             string
	Signing              []signingRow
	Generate             bool
}

type notifierPage struct {
	Form      notifierForm
	Err       fieldError
	Types     []string
	Generated string
	CanTest   bool
	Test      *notifierTest
}

// notifierTest is what a test alert came to, as POST /notifiers/{id}/test.
type notifierTest struct {
	Delivered bool
	Error     string
	LatencyMs float64
}

func newNotifierForm(n *apicron.Notifier) notifierForm {
	if n == nil {
		return notifierForm{Type: apicron.NotifierWebhook}
	}
	row := newNotifierRow(n)
	f := notifierForm{ID: n.ID, Name: n.Name, Type: n.Type, URL: row.ShownURL}
	for _, m := range row.Signing {
		f.Signing = append(f.Signing, signingRow{Mask: m, Keep: true})
	}
	if e := n.Email; e != nil {
		f.Host, f.Security, f.Username, f.From, f.To = e.Host, e.Security, e.Username, e.From, strings.Join(e.To, ", ")
		if e.Port != 0 {
			f.Port = strconv.Itoa(e.Port)
		}
		f.Password = maskIf(e.Password)
	}
	return f
}

func readNotifierForm(r *http.Request, id int64) notifierForm {
	v := r.PostForm
	f := notifierForm{ID: id, Name: strings.TrimSpace(v.Get("name")), Type: v.Get("type"), URL: strings.TrimSpace(v.Get("url")),
		Host: strings.TrimSpace(v.Get("email_host")), Port: v.Get("email_port"), Security: v.Get("email_security"),
		Username: v.Get("email_username"), Password: v.Get("email_password"), From: v.Get("email_from"), To: v.Get("email_to"),
		Generate: v.Get("signing_generate") == "on"}
	keep := v["signing_keep"]
	for _, m := range v["signing_mask"] {
		f.Signing = append(f.Signing, signingRow{Mask: m, Keep: slices.Contains(keep, m)})
	}
	return f
}

// email converts the form's email settings; nil for other types.
func (f notifierForm) email() (*apicron.EmailSettings, error) {
	if f.Type != apicron.NotifierEmail {
		return nil, nil
	}
	port, err := formInt("email.port", f.Port)
	if err != nil {
		return nil, err
	}
	e := &apicron.EmailSettings{Host: f.Host, Security: f.Security, Username: strings.TrimSpace(f.Username), Password: f.Password,
		From: strings.TrimSpace(f.From)}
	if port != nil {
		e.Port = *port
	}
	for _, to := range strings.Split(f.To, ",") {
		if to = strings.TrimSpace(to); to != "" {
			e.To = append(e.To, to)
		}
	}
	return e, nil
}

func (f notifierForm) signing() ([]string, string, error) {
	var list []string
	for _, s := range f.Signing {
		if s.Keep {
			list = append(list, s.Mask)
		}
	}
	if f.Generate {
		list = append(list, apicron.GenerateSigningSecret)
	}
	return apicron.ExpandSigningSecrets(list)
}

// masked is f shown again after a failed save: a typed password is not
// echoed back.
func (f notifierForm) masked(cur *apicron.Notifier) notifierForm {
	// A secret typed in is never echoed back, nor turned into the stored
	// one's mask (sent again, that would keep the stored one instead).
	if f.Password != apicron.MaskedValue {
		f.Password = ""
	}
	if f.Type == apicron.NotifierSlack && (cur == nil || f.URL != apicron.MaskURL(cur.URL)) {
		f.URL = "" // a slack URL is a credential
	}
	f.Generate = false
	return f
}

func (h *Handler) newNotifier(w http.ResponseWriter, r *http.Request) {
	if !h.writable(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, "notifier", "New notifier", "notifiers", notifierPage{Form: newNotifierForm(nil), Types: apicron.NotifierTypes})
}

func (h *Handler) editNotifier(w http.ResponseWriter, r *http.Request) {
	_, n, ok := byID(h, w, r, "get notifier", h.store.FindNotifierByID)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "notifier", n.Name, "notifiers", notifierPage{Form: newNotifierForm(n), Types: apicron.NotifierTypes,
		CanTest: h.sender != nil})
}

// saveNotifier creates or updates a notifier with the API's rules: the
// same signing expansion, URL check and store methods.
func (h *Handler) saveNotifier(w http.ResponseWriter, r *http.Request) {
	var (
		id  int64
		cur *apicron.Notifier
	)
	if r.PathValue("id") != "" {
		var ok bool
		if id, cur, ok = byID(h, w, r, "update notifier", h.store.FindNotifierByID); !ok {
			return
		}
	}
	if !h.parseForm(w, r) {
		return
	}
	f := readNotifierForm(r, id)
	n, generated, err := h.applyNotifier(r, f, cur)
	if err != nil {
		fe, ok := newFieldError(err)
		if !ok {
			h.failErr(w, r, "save notifier", err)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, "notifier", "Notifier", "notifiers",
			notifierPage{Form: f.masked(cur), Err: fe, Types: apicron.NotifierTypes})
		return
	}
	if generated != "" {
		h.render(w, r, http.StatusOK, "notifier", n.Name, "notifiers", notifierPage{Form: newNotifierForm(n), Types: apicron.NotifierTypes,
			Generated: generated, CanTest: h.sender != nil})
		return
	}
	see(w, r, "/ui/notifiers")
}

func (h *Handler) applyNotifier(r *http.Request, f notifierForm, cur *apicron.Notifier) (*apicron.Notifier, string, error) {
	email, err := f.email()
	if err != nil {
		return nil, "", err
	}
	signing, generated, err := f.signing()
	if err != nil {
		return nil, "", err
	}
	if cur == nil {
		n := &apicron.Notifier{Name: f.Name, Type: f.Type, URL: f.URL, Email: email, SigningSecrets: signing}
		if email != nil && email.Password == apicron.MaskedValue {
			return nil, "", apicron.Invalid("email.password", "a new notifier has no password to keep: type it")
		}
		if n.URL != "" {
			if err := h.checkURL(n.URL); err != nil {
				return nil, "", err
			}
		}
		return n, generated, h.store.CreateNotifier(r.Context(), n)
	}
	upd := apicron.NotifierUpdate{Name: &f.Name, Email: email, SigningSecrets: &signing}
	if f.Type != apicron.NotifierEmail {
		upd.URL = &f.URL
		next := *cur
		apicron.NotifierUpdate{URL: &f.URL}.Apply(&next)
		if next.URL != cur.URL && next.URL != "" {
			if err := h.checkURL(next.URL); err != nil {
				return nil, "", err
			}
		}
	}
	n, err := h.store.UpdateNotifier(r.Context(), cur.ID, upd)
	return n, generated, err
}

func (h *Handler) confirmDeleteNotifier(w http.ResponseWriter, r *http.Request) {
	id, n, ok := byID(h, w, r, "get notifier", h.store.FindNotifierByID)
	if !ok {
		return
	}
	path := "/ui/notifiers/" + strconv.FormatInt(id, 10)
	h.render(w, r, http.StatusOK, "confirm", "Delete "+n.Name, "notifiers", confirmData{
		Question: "Delete notifier " + n.Name + "? One that an alert rule names cannot be deleted.", Action: path + "/delete", Back: path})
}

func (h *Handler) deleteNotifier(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if err := h.store.DeleteNotifier(r.Context(), id); err != nil {
		h.failErr(w, r, "delete notifier", err)
		return
	}
	see(w, r, "/ui/notifiers")
}

// testNotifier sends a test alert at once, as POST /notifiers/{id}/test,
// and records how it went on the notifier.
func (h *Handler) testNotifier(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if h.sender == nil {
		h.fail(w, r, http.StatusServiceUnavailable, "This server sends no notifications.")
		return
	}
	ctx := r.Context()
	n, err := h.store.FindNotifierByID(ctx, id)
	if err != nil {
		h.failErr(w, r, "test notifier", err)
		return
	}
	if n.Sealed {
		h.fail(w, r, http.StatusConflict, "This notifier's secrets cannot be decrypted (SECRET_KEY missing or wrong): nothing was sent; send them again.")
		return
	}
	now := h.now()
	m := &apicron.AlertMessage{Event: apicron.AlertTest, At: apicron.TruncMillis(now),
		Summary: "test alert from apicron to notifier " + n.Name + ": if you read this, alerts reach you"}
	start := time.Now()
	sendErr := h.sender.Send(ctx, n, "apicron-test-"+now.Format("20060102T150405.000Z"), m)
	res := &notifierTest{Delivered: sendErr == nil, LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
	if sendErr != nil {
		res.Error = sendErr.Error()
	}
	if err := h.store.NoteNotifierTest(ctx, n.ID, sendErr); err != nil {
		h.failErr(w, r, "test notifier", err)
		return
	}
	if isHTMX(r) {
		h.renderFragment(w, r, "notifier", "notifierTestFragment", res)
		return
	}
	h.render(w, r, http.StatusOK, "notifier", n.Name, "notifiers", notifierPage{Form: newNotifierForm(n), Types: apicron.NotifierTypes,
		CanTest: true, Test: res})
}

// saveDefaultRule sets the default alert rule (none ticked: removes it),
// as PUT and DELETE /alerts/default.
func (h *Handler) saveDefaultRule(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v := r.PostForm
	var rule *apicron.AlertRule
	err := func() error {
		if v.Get("enabled") != "on" {
			return nil
		}
		rule = &apicron.AlertRule{OnAutoPause: v.Get("on_auto_pause") == "on", OnWindowEnd: v.Get("on_window_end") == "on"}
		for _, c := range []struct {
			field string
			dst   *int
		}{{"failure_threshold", &rule.FailureThreshold}, {"success_threshold", &rule.SuccessThreshold}, {"realert_minutes", &rule.RealertMinutes}} {
			p, err := formInt(c.field, v.Get(c.field))
			if err != nil {
				return err
			}
			if p != nil {
				*c.dst = *p
			}
		}
		for _, s := range v["notifier"] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return apicron.Invalid("notifier_ids", "must be notifier ids")
			}
			rule.NotifierIDs = append(rule.NotifierIDs, id)
		}
		return nil
	}()
	if err == nil {
		err = h.store.SetDefaultAlertRule(r.Context(), rule)
	}
	if err != nil {
		if fe, ok := newFieldError(err); ok {
			h.renderNotifiers(w, r, http.StatusUnprocessableEntity, fe)
			return
		}
		h.failErr(w, r, "set the default alert rule", err)
		return
	}
	see(w, r, "/ui/notifiers")
}

type notificationsData struct {
	Rows      []*apicron.Notification
	Total     int
	Schedule  string
	Notifier  string
	Status    string
	Statuses  []apicron.NotificationStatus
	Notifiers []*apicron.Notifier
	Prev      string
	Next      string
	Error     string
}

// listNotifications pages the notifications, newest first, filtered by
// status, schedule and notifier: the store method of GET /notifications.
func (h *Handler) listNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	d := notificationsData{Schedule: q.Get("schedule"), Notifier: q.Get("notifier"), Status: q.Get("status"),
		Statuses: []apicron.NotificationStatus{apicron.NotificationPending, apicron.NotificationSent, apicron.NotificationFailed}}
	f := apicron.NotificationFilter{Page: apicron.Page{Limit: notifiersPage, Offset: offset}}
	for _, c := range []struct {
		v   string
		dst **int64
	}{{d.Schedule, &f.ScheduleID}, {d.Notifier, &f.NotifierID}} {
		if c.v == "" {
			continue
		}
		id, err := strconv.ParseInt(c.v, 10, 64)
		if err != nil || id < 1 {
			d.Error = "Schedule and notifier are ids."
			continue
		}
		*c.dst = &id
	}
	if d.Status != "" {
		st := apicron.NotificationStatus(d.Status)
		if !slices.Contains(d.Statuses, st) {
			d.Error = "Unknown status."
		}
		f.Status = &st
	}
	ctx := r.Context()
	var err error
	if d.Notifiers, _, err = h.store.FindNotifiers(ctx, apicron.Page{Limit: targetChoices}); err != nil {
		h.failErr(w, r, "list notifications", err)
		return
	}
	if d.Error != "" {
		h.render(w, r, http.StatusUnprocessableEntity, "notifications", "Notifications", "notifiers", d)
		return
	}
	if d.Rows, d.Total, err = h.store.FindNotifications(ctx, f); err != nil {
		h.failErr(w, r, "list notifications", err)
		return
	}
	page := func(off int) string {
		v := q
		v.Set("offset", strconv.Itoa(off))
		return "?" + v.Encode()
	}
	if offset > 0 {
		d.Prev = page(max(offset-notifiersPage, 0))
	}
	if offset+len(d.Rows) < d.Total {
		d.Next = page(offset + len(d.Rows))
	}
	h.render(w, r, http.StatusOK, "notifications", "Notifications", "notifiers", d)
}
