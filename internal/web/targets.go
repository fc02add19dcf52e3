package web

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// targetsPage is how many targets a page of the list shows.
const targetsPage = 50

type targetsData struct {
	Rows       []targetRow
	Prev, Next int
	Total      int
}

// targetRow is a target as the API shows it: secrets masked.
type targetRow struct {
	ID             int64
	Name           string
	Method, URL    string
	Headers        []header
	Auth           string // "", basic, bearer, oauth2_client_credentials
	SigningSecrets []string
	ClientCert     string // its subject; "" for none
	TimeoutSeconds *float64
	MaxRetries     *int
}

type header struct{ Name, Value string }

// newTargetRow masks t's secrets as the API's newTarget does: secret
// headers (Target.MaskedHeaders), signing secrets (MaskSigningSecret),
// the OAuth 2.0 client secret and the client certificate's key are not
// shown at all.
func newTargetRow(t *apicron.Target) targetRow {
	row := targetRow{ID: t.ID, Name: t.Name, Method: t.Method, URL: t.URL, TimeoutSeconds: t.TimeoutSeconds, MaxRetries: t.MaxRetries}
	masked := t.MaskedHeaders()
	for _, name := range slices.Sorted(maps.Keys(masked)) {
		row.Headers = append(row.Headers, header{name, masked[name]})
	}
	switch {
	case t.OAuth2 != nil:
		row.Auth = apicron.AuthOAuth2
	default:
		for name, v := range t.Headers {
			if a := apicron.AuthOf(v); a != nil && http.CanonicalHeaderKey(name) == "Authorization" {
				row.Auth = a.Type
			}
		}
	}
	for _, s := range t.SigningSecrets {
		row.SigningSecrets = append(row.SigningSecrets, apicron.MaskSigningSecret(s))
	}
	if t.ClientCert != nil {
		row.ClientCert = t.ClientCert.Info().Subject
	}
	return row
}

func (h *Handler) listTargets(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	list, total, err := h.store.FindTargets(r.Context(), apicron.Page{Limit: targetsPage, Offset: offset})
	if err != nil {
		h.failErr(w, r, "list targets", err)
		return
	}
	d := targetsData{Prev: -1, Next: -1, Total: total}
	for _, t := range list {
		d.Rows = append(d.Rows, newTargetRow(t))
	}
	if offset > 0 {
		d.Prev = max(offset-targetsPage, 0)
	}
	if offset+len(list) < total {
		d.Next = offset + len(list)
	}
	h.render(w, r, http.StatusOK, "targets", "Targets", "targets", d)
}

// headerRows is how many empty header rows a target's form offers.
const headerRows = 3

// targetForm is a target's form, as the browser posts it and as it is
// shown again: secret values only ever as the mask.
type targetForm struct {
	ID            int64 // 0: a new target
	Name, Method  string
	URL           string
	Headers       []headerRow
	BodyTemplate  string
	Timeout       string
	Retries       string
	RetryOn       []string // the classes ticked; nil with RetryDefault
	RetryDefault  bool
	Assertions    string // JSON, as the API's assertions field
	AllowInsecure bool
	// Auth is none, basic, bearer or oauth2_client_credentials.
	Auth                      string
	Username, Password, Token string
	// The OAuth 2.0 client credentials; Scopes space-separated.
	TokenURL, ClientID, ClientSecret, Scopes, Audience string
	// CertPEM and KeyPEM replace the client certificate (KeyPEM the mask:
	// keep the stored key); RemoveCert removes it.
	CertPEM, KeyPEM string
	RemoveCert      bool
	// Backoff and MaxBackoff are the retry backoff's, in ms; "" the default.
	Backoff, MaxBackoff string
	// Signing are the current signing secrets, masked; Keep the ones kept.
	Signing  []signingRow
	Generate bool
	// RatePerSecond and RateBurst are the rate limit; "" for none.
	RatePerSecond, RateBurst string
}

type headerRow struct {
	Name, Value string
	Secret      bool
}

type signingRow struct {
	Mask string
	Keep bool
}

// targetPage is the data of the target form's page.
type targetPage struct {
	Form       targetForm
	Err        fieldError
	Methods    []string
	Classes    []string
	Saved      bool
	Generated  string // a signing secret made by this save, shown once
	CanTest    bool
	Test       *testResult
	Schedules  int // how many schedules use it (deleting is refused while any do)
	ClientCert string
}

// newTargetForm fills the form from t (nil: a new target), secrets masked
// as the API masks them.
func newTargetForm(t *apicron.Target) targetForm {
	f := targetForm{Method: apicron.DefaultMethod, Auth: apicron.AuthNone, RetryDefault: true}
	if t == nil {
		return f.withEmptyRows()
	}
	f.ID, f.Name, f.Method, f.URL, f.BodyTemplate = t.ID, t.Name, t.Method, t.URL, t.BodyTemplate
	f.Timeout, f.Retries, f.AllowInsecure = ftoa(t.TimeoutSeconds), itoa(t.MaxRetries), t.AllowInsecureRedirects
	if t.RetryOn != nil {
		f.RetryDefault, f.RetryOn = false, slices.Clone(t.RetryOn)
	}
	if len(t.Assertions) > 0 {
		f.Assertions = assertionsJSON(t.Assertions)
	}
	masked := t.MaskedHeaders()
	for _, name := range slices.Sorted(maps.Keys(masked)) {
		if strings.EqualFold(name, "Authorization") {
			if a := apicron.AuthOf(t.Headers[name]); a != nil {
				f.Auth, f.Username = a.Type, a.Username
				f.Password, f.Token = maskIf(a.Password), maskIf(a.Token)
				continue // shown as the auth, not as a header
			}
		}
		f.Headers = append(f.Headers, headerRow{Name: name, Value: masked[name], Secret: t.IsSecretHeader(name)})
	}
	if o := t.OAuth2; o != nil {
		f.Auth = apicron.AuthOAuth2
		f.TokenURL, f.ClientID, f.ClientSecret = o.TokenURL, o.ClientID, maskIf(o.ClientSecret)
		f.Scopes, f.Audience = strings.Join(o.Scopes, " "), o.Audience
	}
	if c := t.ClientCert; c != nil {
		f.CertPEM, f.KeyPEM = c.CertPEM, maskIf(c.KeyPEM)
	}
	f.Backoff, f.MaxBackoff = itoa(t.RetryBackoffMs), itoa(t.RetryMaxBackoffMs)
	for _, s := range t.SigningSecrets {
		f.Signing = append(f.Signing, signingRow{Mask: apicron.MaskSigningSecret(s), Keep: true})
	}
	if r := t.RateLimit; r != nil {
		f.RatePerSecond, f.RateBurst = strconv.FormatFloat(r.PerSecond, 'f', -1, 64), strconv.Itoa(r.Burst)
	}
	return f.withEmptyRows()
}

func maskIf(s string) string {
	if s == "" {
		return ""
	}
	return apicron.MaskedValue
}

func (f targetForm) withEmptyRows() targetForm {
	for range headerRows {
		f.Headers = append(f.Headers, headerRow{})
	}
	return f
}

// readTargetForm reads the posted form.
func readTargetForm(r *http.Request, id int64) targetForm {
	v := r.PostForm
	f := targetForm{ID: id, Name: v.Get("name"), Method: v.Get("method"), URL: v.Get("url"), BodyTemplate: v.Get("body_template"),
		Timeout: v.Get("timeout_seconds"), Retries: v.Get("max_retries"), Assertions: v.Get("assertions"),
		AllowInsecure: v.Get("allow_insecure_redirects") == "on", RetryDefault: v.Get("retry_default") == "on",
		Auth: v.Get("auth"), Username: v.Get("auth_username"), Password: v.Get("auth_password"), Token: v.Get("auth_token"),
		Generate: v.Get("signing_generate") == "on", RatePerSecond: v.Get("rate_per_second"), RateBurst: v.Get("rate_burst"),
		TokenURL: v.Get("oauth2_token_url"), ClientID: v.Get("oauth2_client_id"), ClientSecret: v.Get("oauth2_client_secret"),
		Scopes: v.Get("oauth2_scopes"), Audience: v.Get("oauth2_audience"),
		CertPEM: v.Get("client_cert_pem"), KeyPEM: v.Get("client_key_pem"), RemoveCert: v.Get("client_cert_remove") == "on",
		Backoff: v.Get("retry_backoff_ms"), MaxBackoff: v.Get("retry_max_backoff_ms")}
	names, values, secret := v["header_name"], v["header_value"], v["header_secret"]
	for i, name := range names {
		row := headerRow{Name: strings.TrimSpace(name)}
		if i < len(values) {
			row.Value = values[i]
		}
		row.Secret = slices.Contains(secret, strconv.Itoa(i))
		f.Headers = append(f.Headers, row)
	}
	if !f.RetryDefault {
		f.RetryOn = append([]string{}, v["retry_on"]...)
	}
	keep := v["signing_keep"]
	for _, m := range v["signing_mask"] {
		f.Signing = append(f.Signing, signingRow{Mask: m, Keep: slices.Contains(keep, m)})
	}
	return f
}

// update converts the form to the update the API's PUT would make, every
// field set; cur is the stored target (nil for a new one). It returns the
// secret it asks to generate, if any.
func (f targetForm) update(cur *apicron.Target, checkAssertions func(string, []apicron.Assertion) error) (apicron.TargetUpdate, string, error) {
	name, method, url, body := strings.TrimSpace(f.Name), f.Method, strings.TrimSpace(f.URL), f.BodyTemplate
	upd := apicron.TargetUpdate{Name: &name, Method: &method, URL: &url, BodyTemplate: &body, AllowInsecureRedirects: &f.AllowInsecure}
	headers := map[string]string{}
	var secret []string
	for _, row := range f.Headers {
		if row.Name == "" {
			if row.Value != "" {
				return upd, "", apicron.Invalid("headers", "a header has a value but no name")
			}
			continue
		}
		headers[row.Name] = row.Value
		if row.Secret {
			secret = append(secret, row.Name)
		}
	}
	timeout, err := formFloat("timeout_seconds", f.Timeout)
	if err != nil {
		return upd, "", err
	}
	retries, err := formInt("max_retries", f.Retries)
	if err != nil {
		return upd, "", err
	}
	upd.TimeoutSeconds, upd.MaxRetries, upd.SecretHeaders = &timeout, &retries, &secret
	backoff, err := formInt("retry_backoff_ms", f.Backoff)
	if err != nil {
		return upd, "", err
	}
	maxBackoff, err := formInt("retry_max_backoff_ms", f.MaxBackoff)
	if err != nil {
		return upd, "", err
	}
	upd.RetryBackoffMs, upd.RetryMaxBackoffMs = &backoff, &maxBackoff
	if cert, err := f.clientCert(cur); err != nil {
		return upd, "", err
	} else if cert != nil {
		upd.ClientCert = cert
	}
	var on *[]string
	if !f.RetryDefault {
		list := slices.Clone(f.RetryOn)
		if list == nil {
			list = []string{}
		}
		on = &list
	}
	upd.RetryOn = &on
	list, err := parseAssertions(f.Assertions)
	if err == nil {
		err = apicron.ValidateAssertions("assertions", list)
	}
	if err == nil && checkAssertions != nil {
		err = checkAssertions("assertions", list)
	}
	if err != nil {
		return upd, "", err
	}
	upd.Assertions = &list
	var rate *apicron.RateLimit
	if strings.TrimSpace(f.RatePerSecond) != "" || strings.TrimSpace(f.RateBurst) != "" {
		per, err := formFloat("rate_limit.per_second", f.RatePerSecond)
		if err != nil {
			return upd, "", err
		}
		if per == nil {
			return upd, "", apicron.Invalid("rate_limit.per_second", "is required for a rate limit")
		}
		burst, err := formInt("rate_limit.burst", f.RateBurst)
		if err != nil {
			return upd, "", err
		}
		rate = &apicron.RateLimit{PerSecond: *per}
		if burst != nil {
			rate.Burst = *burst
		}
	}
	upd.RateLimit = &rate
	signing := []string{}
	for _, s := range f.Signing {
		if s.Keep {
			signing = append(signing, s.Mask)
		}
	}
	if f.Generate {
		signing = append(signing, apicron.GenerateSigningSecret)
	}
	signing, generated, err := apicron.ExpandSigningSecrets(signing)
	if err != nil {
		return upd, "", err
	}
	upd.SigningSecrets = &signing

	// The auth, as the API's auth field: basic and bearer set the
	// Authorization header, and a mask keeps the stored secret, which
	// Apply reads from that header: it is sent back masked beside them.
	hadAuth := cur != nil && slices.ContainsFunc(slices.Collect(maps.Values(cur.Headers)), func(v string) bool { return apicron.AuthOf(v) != nil })
	switch f.Auth {
	case apicron.AuthBasic, apicron.AuthBearer:
		a := &apicron.TargetAuth{Type: f.Auth}
		if f.Auth == apicron.AuthBasic {
			a.Username, a.Password = strings.TrimSpace(f.Username), f.Password
		} else {
			a.Token = strings.TrimSpace(f.Token)
		}
		if a.Password == apicron.MaskedValue || a.Token == apicron.MaskedValue {
			if !hadAuth || storedAuthType(cur) != f.Auth {
				return upd, "", apicron.Invalid("auth", "has no stored %s secret to keep: type the password or token", f.Auth)
			}
			for k, v := range cur.Headers {
				if strings.EqualFold(k, "Authorization") && apicron.AuthOf(v) != nil {
					headers[k] = apicron.MaskedValue
				}
			}
		}
		if err := a.CheckWith(headers); err != nil {
			return upd, "", err
		}
		upd.Auth = a
	case apicron.AuthOAuth2:
		o := &apicron.OAuth2{TokenURL: strings.TrimSpace(f.TokenURL), ClientID: strings.TrimSpace(f.ClientID),
			ClientSecret: f.ClientSecret, Scopes: strings.Fields(f.Scopes), Audience: strings.TrimSpace(f.Audience)}
		if o.ClientSecret == apicron.MaskedValue && (cur == nil || cur.OAuth2 == nil) {
			return upd, "", apicron.Invalid("auth.client_secret", "has no stored secret to keep: type the client secret")
		}
		a := &apicron.TargetAuth{Type: apicron.AuthOAuth2, OAuth2: o}
		if err := a.CheckWith(headers); err != nil {
			return upd, "", err
		}
		upd.Auth = a
	case apicron.AuthNone, "":
		if hadAuth || (cur != nil && cur.OAuth2 != nil) {
			upd.Auth = &apicron.TargetAuth{Type: apicron.AuthNone}
		}
	default:
		return upd, "", apicron.Invalid("auth.type", "must be none, basic, bearer or oauth2_client_credentials")
	}
	upd.Headers = &headers
	return upd, generated, nil
}

// clientCert is the form's client certificate update: nil to leave it as
// it is (nothing typed, nothing to remove), else the replacement (a nil
// *ClientCert removes it). A key left as its mask keeps the stored key.
func (f targetForm) clientCert(cur *apicron.Target) (**apicron.ClientCert, error) {
	had := cur != nil && cur.ClientCert != nil
	// A browser sends a textarea's lines ended with CRLF.
	lf := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
	cert, key := lf(f.CertPEM), lf(f.KeyPEM)
	var none *apicron.ClientCert
	switch {
	case f.RemoveCert:
		if had {
			return &none, nil
		}
		return nil, nil
	case cert == "" && key == "":
		if had {
			return &none, nil // both fields emptied: removed
		}
		return nil, nil
	case had && cert == strings.TrimSpace(cur.ClientCert.CertPEM) && key == apicron.MaskedValue:
		return nil, nil // shown and sent back unchanged
	case key == apicron.MaskedValue && !had:
		return nil, apicron.Invalid("client_cert.key_pem", "has no stored key to keep: paste the private key")
	}
	c := &apicron.ClientCert{CertPEM: cert + "\n", KeyPEM: key}
	if key != apicron.MaskedValue {
		c.KeyPEM = key + "\n"
	}
	if err := c.Validate(key != apicron.MaskedValue); err != nil {
		return nil, err
	}
	return &c, nil
}

// storedAuthType is the auth type of cur's Authorization header ("" for none).
func storedAuthType(cur *apicron.Target) string {
	if cur == nil {
		return ""
	}
	for k, v := range cur.Headers {
		if a := apicron.AuthOf(v); a != nil && strings.EqualFold(k, "Authorization") {
			return a.Type
		}
	}
	return ""
}

// masked returns f as it may be shown again after a failed save: a secret
// typed into it is not echoed back and must be typed again; one left as
// its mask stays masked (sent back, it keeps the stored one).
func (f targetForm) masked() targetForm {
	probe := &apicron.Target{}
	headers := make([]headerRow, 0, len(f.Headers))
	for _, row := range f.Headers {
		probe.SecretHeaders = nil
		if row.Secret {
			probe.SecretHeaders = []string{row.Name}
		}
		// A secret typed in is never echoed back, nor turned into the mask:
		// sent again, the mask would keep the stored value instead of it.
		if row.Name != "" && probe.IsSecretHeader(row.Name) && row.Value != apicron.MaskedValue {
			row.Value = ""
		}
		headers = append(headers, row)
	}
	f.Headers = headers
	for _, p := range []*string{&f.Password, &f.Token, &f.ClientSecret, &f.KeyPEM} {
		if *p != apicron.MaskedValue {
			*p = "" // typed in: to be typed again, never kept as the stored one's mask
		}
	}
	f.Generate = false
	return f.withEmptyRows()
}

// parseAssertions reads the assertions field: a JSON list as the API
// takes it (apicron.Assertion's JSON shape); blank for none.
func parseAssertions(s string) ([]apicron.Assertion, error) {
	if strings.TrimSpace(s) == "" {
		return []apicron.Assertion{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	out := []apicron.Assertion{}
	if err := dec.Decode(&out); err != nil {
		return nil, apicron.Invalid("assertions", "must be a JSON list of assertions as the API takes them, e.g. "+
			`[{"type": "status", "in": ["2xx"]}]: %v`, err)
	}
	return out, nil
}

// assertionsJSON shows a list as the assertions field takes it.
func assertionsJSON(list []apicron.Assertion) string {
	if list == nil {
		list = []apicron.Assertion{}
	}
	b, _ := json.MarshalIndent(list, "", "  ")
	return string(b)
}

func (h *Handler) targetPage(ctx context.Context, f targetForm, cur *apicron.Target) targetPage {
	p := targetPage{Form: f, Methods: apicron.Methods, Classes: apicron.RetryClasses, CanTest: h.runner != nil && h.executor != nil && f.ID != 0}
	if cur != nil {
		if cur.ClientCert != nil {
			i := cur.ClientCert.Info()
			p.ClientCert = i.Subject + ", issued by " + i.Issuer + ", expires " + i.NotAfter.UTC().Format(time.DateOnly)
		}
		_, n, err := h.store.FindSchedules(ctx, apicron.ScheduleFilter{TargetID: &cur.ID, Limit: 1})
		if err == nil {
			p.Schedules = n
		}
	}
	return p
}

func (h *Handler) newTarget(w http.ResponseWriter, r *http.Request) {
	if !h.writable(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, "target", "New target", "targets", h.targetPage(r.Context(), newTargetForm(nil), nil))
}

func (h *Handler) editTarget(w http.ResponseWriter, r *http.Request) {
	_, t, ok := byID(h, w, r, "get target", h.store.FindTargetByID)
	if !ok {
		return
	}
	p := h.targetPage(r.Context(), newTargetForm(t), t)
	p.Saved = r.URL.Query().Get("saved") == "1"
	h.render(w, r, http.StatusOK, "target", t.Name, "targets", p)
}

// saveTarget creates (no {id}) or updates a target from its form, with the
// API's rules: the same TargetUpdate, Normalize and Validate, URL check and
// store methods as POST and PUT /targets.
func (h *Handler) saveTarget(w http.ResponseWriter, r *http.Request) {
	var (
		id  int64
		cur *apicron.Target
	)
	if r.PathValue("id") != "" {
		var ok bool
		if id, cur, ok = byID(h, w, r, "update target", h.store.FindTargetByID); !ok {
			return
		}
	}
	if !h.parseForm(w, r) {
		return
	}
	f := readTargetForm(r, id)
	t, generated, err := h.applyTarget(r.Context(), f, cur)
	if err != nil {
		fe, ok := newFieldError(err)
		if !ok {
			h.failErr(w, r, "save target", err)
			return
		}
		p := h.targetPage(r.Context(), f.masked(), cur)
		p.Err = fe
		title := "New target"
		if cur != nil {
			title = cur.Name
		}
		h.render(w, r, http.StatusUnprocessableEntity, "target", title, "targets", p)
		return
	}
	if generated != "" {
		// Shown this once: a redirect would lose it.
		p := h.targetPage(r.Context(), newTargetForm(t), t)
		p.Saved, p.Generated = true, generated
		h.render(w, r, http.StatusOK, "target", t.Name, "targets", p)
		return
	}
	see(w, r, "/ui/targets/"+strconv.FormatInt(t.ID, 10)+"?saved=1")
}

func (h *Handler) applyTarget(ctx context.Context, f targetForm, cur *apicron.Target) (*apicron.Target, string, error) {
	upd, generated, err := f.update(cur, h.assertionCheck)
	if err != nil {
		return nil, "", err
	}
	if err := h.checkURL(*upd.URL); err != nil {
		return nil, "", err
	}
	if cur != nil {
		t, err := h.store.UpdateTarget(ctx, cur.ID, upd)
		return t, generated, err
	}
	t := &apicron.Target{}
	upd.Apply(t)
	t.Normalize()
	if err := t.Validate(); err != nil {
		return nil, "", err
	}
	return t, generated, h.store.CreateTarget(ctx, t)
}

// checkURL vets a URL with Config.URLCheckFunc, as the API does: an error
// refuses it on field url.
func (h *Handler) checkURL(raw string) error {
	if h.urlCheck == nil {
		return nil
	}
	err := h.urlCheck(strings.TrimSpace(raw))
	if err == nil {
		return nil
	}
	var e *apicron.Error
	if errors.As(err, &e) {
		return apicron.Invalid("url", "%s", e.Message)
	}
	return apicron.Invalid("url", "%s", err.Error())
}

func (h *Handler) confirmDeleteTarget(w http.ResponseWriter, r *http.Request) {
	id, t, ok := byID(h, w, r, "get target", h.store.FindTargetByID)
	if !ok {
		return
	}
	path := "/ui/targets/" + strconv.FormatInt(id, 10)
	h.render(w, r, http.StatusOK, "confirm", "Delete "+t.Name, "targets", confirmData{
		Question: "Delete target " + t.Name + " (" + t.Method + " " + t.URL + ")? A target that a schedule uses cannot be deleted.",
		Action:   path + "/delete", Back: path})
}

func (h *Handler) deleteTarget(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if err := h.store.DeleteTarget(r.Context(), id); err != nil {
		h.failErr(w, r, "delete target", err)
		return
	}
	see(w, r, "/ui/targets")
}

// testResult is what one request to a target came to, as POST
// /targets/{id}/test answers it.
type testResult struct {
	Result apicron.RunResult
	Phases []phase
	Total  *float64
}

// testTarget sends the target's request once, by the path of POST
// /targets/{id}/test (Runner.TargetJob, Executor.Execute); nothing is
// stored. htmx gets the result alone; a browser without it the page.
func (h *Handler) testTarget(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if h.runner == nil || h.executor == nil {
		h.fail(w, r, http.StatusServiceUnavailable, "This server has no executor: target tests are not available.")
		return
	}
	job, err := h.runner.TargetJob(r.Context(), id)
	if err != nil {
		h.failErr(w, r, "test target", err)
		return
	}
	job.ScheduleName = "target-test"
	res := h.executor.Execute(r.Context(), job)
	tr := &testResult{Result: res, Phases: waterfall(res.Timings, res.LatencyMs), Total: res.LatencyMs}
	if isHTMX(r) {
		h.renderFragment(w, r, "target", "testFragment", tr)
		return
	}
	t, err := h.store.FindTargetByID(r.Context(), id)
	if err != nil {
		h.failErr(w, r, "test target", err)
		return
	}
	p := h.targetPage(r.Context(), newTargetForm(t), t)
	p.Test = tr
	h.render(w, r, http.StatusOK, "target", t.Name, "targets", p)
}
