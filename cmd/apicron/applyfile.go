package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/apicron/apicron"
	apiclient "github.com/apicron/apicron/client"
)

// applyFile is what apicron apply reads and apicron export writes: the
// targets, notifiers and schedules of a server, each known by its name.
// A target and a notifier are the API's create bodies; a schedule is one
// with target (a target's name) for target_id, and an alert naming its
// notifiers (notifiers) for notifier_ids.
type applyFile struct {
	Targets   []apiclient.TargetCreate   `json:"targets,omitempty"`
	Notifiers []apiclient.NotifierCreate `json:"notifiers,omitempty"`
	Schedules []scheduleSpec             `json:"schedules,omitempty"`
}

// scheduleSpec is a schedule of an apply file.
type scheduleSpec struct {
	Name            string  `json:"name"`
	Target          string  `json:"target"`
	ScheduleType    string  `json:"schedule_type"`
	IntervalSeconds *int    `json:"interval_seconds,omitempty"`
	DurationSeconds *int    `json:"duration_seconds,omitempty"`
	CronExpression  *string `json:"cron_expression,omitempty"`
	Timezone        *string `json:"timezone,omitempty"`
	KeepRuns        *int    `json:"keep_runs,omitempty"`
	apiclient.ScheduleOptions
	// Alert hides ScheduleOptions.Alert: it names notifiers, not ids.
	Alert *alertSpec `json:"alert,omitempty"`
}

// alertSpec is a schedule's alert rule in an apply file.
type alertSpec struct {
	Notifiers        []string `json:"notifiers"`
	FailureThreshold *int     `json:"failure_threshold,omitempty"`
	SuccessThreshold *int     `json:"success_threshold,omitempty"`
	RealertMinutes   *int     `json:"realert_minutes,omitempty"`
	OnAutoPause      *bool    `json:"on_auto_pause,omitempty"`
	OnWindowEnd      *bool    `json:"on_window_end,omitempty"`
}

// envRef is a reference to an environment variable, ${NAME}; $${ is a
// literal ${.
var envRef = regexp.MustCompile(`\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${NAME} in the strings of v (decoded JSON) with
// the variable's value; a variable unset or empty is an error.
func expandEnv(v any, getenv func(string) string, missing map[string]bool) any {
	switch x := v.(type) {
	case string:
		return envRef.ReplaceAllStringFunc(x, func(m string) string {
			if strings.HasPrefix(m, "$$") {
				return m[1:]
			}
			name := m[2 : len(m)-1]
			val := getenv(name)
			if val == "" {
				missing[name] = true
			}
			return val
		})
	case map[string]any:
		for k, e := range x {
			x[k] = expandEnv(e, getenv, missing)
		}
	case []any:
		for i, e := range x {
			x[i] = expandEnv(e, getenv, missing)
		}
	}
	return v
}

// readDoc reads a JSON or YAML file, its ${NAME} references expanded, as
// JSON.
func readDoc(path string, getenv func(string) string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, refusedf("read %s: %w", path, err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, refusedf("%s: %w", path, err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return nil, refusedf("%s: %w", path, err)
	}
	missing := map[string]bool{}
	v = expandEnv(v, getenv, missing)
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, refusedf("%s: the environment does not set %s, which the file references as ${...}", path, strings.Join(names, ", "))
	}
	return json.Marshal(v)
}

// readObjectFile reads the body of a create or update: one JSON or YAML object.
func readObjectFile(path string, getenv func(string) string) (map[string]any, error) {
	j, err := readDoc(path, getenv)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil || m == nil {
		return nil, refusedf("%s: want one object of the API's fields", path)
	}
	return m, nil
}

// applyPaths lists the files paths name: each file, and the .yaml, .yml
// and .json files of each directory (not its subdirectories), sorted.
func applyPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, refusedf("%w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, refusedf("%w", err)
		}
		var in []string
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					in = append(in, filepath.Join(p, e.Name()))
				}
			}
		}
		if len(in) == 0 {
			return nil, refusedf("%s has no .yaml, .yml or .json file", p)
		}
		slices.Sort(in)
		out = append(out, in...)
	}
	return out, nil
}

// readApplyFiles reads and merges the apply files paths name, and checks
// what the server cannot: names given, each once per kind.
func readApplyFiles(paths []string, getenv func(string) string) (*applyFile, error) {
	files, err := applyPaths(paths)
	if err != nil {
		return nil, err
	}
	all := &applyFile{}
	for _, f := range files {
		j, err := readDoc(f, getenv)
		if err != nil {
			return nil, err
		}
		var one applyFile
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&one); err != nil {
			return nil, refusedf("%s: %w (the keys are targets, notifiers and schedules, each a list of the API's fields)", f, err)
		}
		all.Targets = append(all.Targets, one.Targets...)
		all.Notifiers = append(all.Notifiers, one.Notifiers...)
		all.Schedules = append(all.Schedules, one.Schedules...)
	}
	return all, all.check()
}

func (f *applyFile) check() error {
	var errs []string
	seen := map[string]bool{}
	once := func(kind, name string, i int) {
		switch {
		case strings.TrimSpace(name) == "":
			errs = append(errs, fmt.Sprintf("%s number %d has no name", kind, i+1))
		case seen[kind+"\x00"+name]:
			errs = append(errs, fmt.Sprintf("%s %q is named twice", kind, name))
		}
		seen[kind+"\x00"+name] = true
	}
	generate := func(kind, name string, list []string) {
		if slices.Contains(list, apicron.GenerateSigningSecret) {
			errs = append(errs, fmt.Sprintf("%s %q: signing_secrets %q would make a new secret at every apply: give the secret as ${VAR}", kind, name, apicron.GenerateSigningSecret))
		}
	}
	for i, t := range f.Targets {
		once("target", t.Name, i)
		generate("target", t.Name, t.SigningSecrets)
	}
	for i, n := range f.Notifiers {
		once("notifier", n.Name, i)
		generate("notifier", n.Name, n.SigningSecrets)
	}
	for i, s := range f.Schedules {
		once("schedule", s.Name, i)
		if s.Target == "" {
			errs = append(errs, fmt.Sprintf("schedule %q has no target", s.Name))
		}
	}
	if len(errs) > 0 {
		return refusedf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// normTarget drops what t sets to its default, in the form the server
// keeps (method upper case, header names trimmed): two specs of one target
// then encode the same.
func normTarget(t apiclient.TargetCreate) apiclient.TargetCreate {
	d := apicron.Target{Method: valueOr(t.Method), SecretHeaders: t.SecretHeaders}
	d.Normalize()
	t.Method = nil
	if d.Method != apicron.DefaultMethod {
		t.Method = &d.Method
	}
	t.SecretHeaders = nilIfEmpty(d.SecretHeaders)
	if t.Auth != nil && t.Auth.Type == apicron.AuthNone {
		t.Auth = nil
	}
	if t.Auth != nil && (t.Auth.Type == apicron.AuthBasic || t.Auth.Type == apicron.AuthBearer) {
		// The API makes the Authorization header of basic and bearer auth.
		h := map[string]string{}
		for k, v := range t.Headers {
			if !strings.EqualFold(k, "Authorization") {
				h[k] = v
			}
		}
		t.Headers = h
	}
	if len(t.Headers) == 0 {
		t.Headers = nil
	}
	if t.BodyTemplate != nil && *t.BodyTemplate == "" {
		t.BodyTemplate = nil
	}
	if t.RetryOn != nil && slices.Equal(*t.RetryOn, apicron.DefaultRetryOn) {
		t.RetryOn = nil
	}
	if t.RetryBackoffMs != nil && *t.RetryBackoffMs == apicron.DefaultRetryBackoffMs {
		t.RetryBackoffMs = nil
	}
	if t.RetryMaxBackoffMs != nil && *t.RetryMaxBackoffMs == apicron.DefaultRetryMaxBackoffMs {
		t.RetryMaxBackoffMs = nil
	}
	if r := t.RateLimit; r != nil && r.Burst != nil && *r.Burst == apicron.DefaultBurst(r.PerSecond) {
		t.RateLimit = &apiclient.RateLimit{PerSecond: r.PerSecond}
	}
	if c := t.ClientCert; c != nil {
		t.ClientCert = &apiclient.Cert{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
	}
	t.SigningSecrets = nilIfEmpty(t.SigningSecrets)
	t.Assertions = nilIfEmpty(t.Assertions)
	return t
}

// maskTarget is t with its secrets as the API shows them, and a basic or
// bearer Authorization header as auth, which is how the API shows it too.
func maskTarget(t apiclient.TargetCreate) apiclient.TargetCreate {
	if t.Auth == nil {
		for k, v := range t.Headers {
			if a := apicron.AuthOf(v); a != nil && strings.EqualFold(k, "Authorization") {
				t.Auth = &apiclient.TargetAuth{Type: a.Type, Username: a.Username, Password: a.Password, Token: a.Token}
				t = normTarget(t) // which drops the header
			}
		}
	}
	return secretsOfTarget(t, func(string, string) string { return apicron.MaskedValue })
}

// secretsOfTarget is t with each secret value replaced by what repl
// returns for it, given a name for its field (for a placeholder).
func secretsOfTarget(t apiclient.TargetCreate, repl func(field, value string) string) apiclient.TargetCreate {
	d := apicron.Target{SecretHeaders: t.SecretHeaders}
	if t.Headers != nil {
		h := make(map[string]string, len(t.Headers))
		for k, v := range t.Headers {
			if d.IsSecretHeader(k) {
				v = repl(k, v)
			}
			h[k] = v
		}
		t.Headers = h
	}
	if a := t.Auth; a != nil {
		c := *a
		if c.Password != "" {
			c.Password = repl("auth_password", c.Password)
		}
		if c.Token != "" {
			c.Token = repl("auth_token", c.Token)
		}
		if c.ClientSecret != "" {
			c.ClientSecret = repl("auth_client_secret", c.ClientSecret)
		}
		t.Auth = &c
	}
	if c := t.ClientCert; c != nil {
		t.ClientCert = &apiclient.Cert{CertPEM: c.CertPEM, KeyPEM: repl("client_key_pem", c.KeyPEM)}
	}
	t.SigningSecrets = signingSecrets(t.SigningSecrets, repl)
	return t
}

func signingSecrets(list []string, repl func(field, value string) string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = repl(fmt.Sprintf("signing_secret_%d", i+1), s)
		if out[i] == apicron.MaskedValue {
			out[i] = apicron.MaskSigningSecret(s)
		}
	}
	return out
}

// targetSpec is the spec of a target as the API returns it, secrets masked.
func targetSpec(t apiclient.Target) apiclient.TargetCreate {
	out := apiclient.TargetCreate{
		Name: t.Name, URL: t.URL, Method: &t.Method, Headers: t.Headers, SecretHeaders: t.SecretHeaders,
		BodyTemplate: t.BodyTemplate, TimeoutSeconds: t.TimeoutSeconds, MaxRetries: t.MaxRetries,
		AllowInsecureRedirects: t.AllowInsecureRedirects, Auth: t.Auth, ClientCert: t.ClientCert,
		RetryOn: &t.RetryOn, RetryBackoffMs: &t.RetryBackoffMs, RetryMaxBackoffMs: &t.RetryMaxBackoffMs,
		RateLimit: t.RateLimit, SigningSecrets: t.SigningSecrets, Assertions: t.Assertions,
	}
	return normTarget(out)
}

// normNotifier is n in the form the server keeps, defaults dropped.
func normNotifier(n apiclient.NotifierCreate) apiclient.NotifierCreate {
	d := apicron.Notifier{Name: n.Name, Type: n.Type, URL: n.URL}
	if e := n.Email; e != nil {
		d.Email = &apicron.EmailSettings{Host: e.Host, Port: e.Port, Security: e.Security}
	}
	d.Normalize()
	n.Type = d.Type
	if e := n.Email; e != nil {
		c := *e
		c.Security, c.Port = d.Email.Security, d.Email.Port
		def := 587
		if c.Security == apicron.SMTPTLS {
			def = 465
		}
		if c.Port == def {
			c.Port = 0
		}
		if c.Security == apicron.SMTPStartTLS {
			c.Security = ""
		}
		c.To = slices.Clone(c.To)
		n.Email = &c
	}
	n.SigningSecrets = nilIfEmpty(n.SigningSecrets)
	return n
}

// secretsOfNotifier is n with each secret value replaced by repl's.
func secretsOfNotifier(n apiclient.NotifierCreate, repl func(field, value string) string) apiclient.NotifierCreate {
	if n.Type == apicron.NotifierSlack && n.URL != "" {
		u := repl("url", n.URL)
		if u == apicron.MaskedValue {
			u = apicron.MaskURL(n.URL)
		}
		n.URL = u
	}
	if e := n.Email; e != nil && e.Password != "" {
		c := *e
		c.Password = repl("email_password", c.Password)
		n.Email = &c
	}
	n.SigningSecrets = signingSecrets(n.SigningSecrets, repl)
	return n
}

// notifierSpec is the spec of a notifier as the API returns it.
func notifierSpec(n apiclient.Notifier) apiclient.NotifierCreate {
	out := apiclient.NotifierCreate{Name: n.Name, Type: n.Type, URL: valueOr(n.URL), SigningSecrets: n.SigningSecrets, Email: n.Email}
	return normNotifier(out)
}

// normSchedule is s with its defaults dropped and its times in UTC to the
// millisecond, as the API keeps them.
func normSchedule(s scheduleSpec) scheduleSpec {
	for _, t := range []**time.Time{&s.RunAt, &s.StartAt, &s.EndAt} {
		if *t != nil {
			u := (*t).UTC().Truncate(time.Millisecond)
			*t = &u
		}
	}
	s.ScheduleType = strings.ToUpper(s.ScheduleType)
	if s.JitterSeconds != nil && *s.JitterSeconds == 0 {
		s.JitterSeconds = nil
	}
	if s.OverlapPolicy != nil && *s.OverlapPolicy == string(apicron.OverlapSkip) {
		s.OverlapPolicy = nil
	}
	if s.MisfirePolicy != nil && *s.MisfirePolicy == string(apicron.MisfireCoalesce) {
		s.MisfirePolicy = nil
	}
	dropDefault(&s.RetryInterrupted, false)
	if a := s.Alert; a != nil {
		c := *a
		c.Notifiers = slices.Clone(a.Notifiers)
		if c.Notifiers == nil {
			c.Notifiers = []string{}
		}
		dropDefault(&c.FailureThreshold, apicron.DefaultFailureThreshold)
		dropDefault(&c.SuccessThreshold, apicron.DefaultSuccessThreshold)
		dropDefault(&c.RealertMinutes, 0)
		dropDefault(&c.OnAutoPause, true)
		dropDefault(&c.OnWindowEnd, false)
		s.Alert = &c
	}
	s.ScheduleOptions.Alert = nil
	return s
}

// scheduleSpecOf is the spec of a schedule as the API returns it; names
// maps target and notifier ids to their names.
func scheduleSpecOf(s apiclient.Schedule, targetName, notifierName map[int64]string) (scheduleSpec, error) {
	out := scheduleSpec{Name: s.Name, ScheduleType: s.ScheduleType, IntervalSeconds: s.IntervalSeconds,
		DurationSeconds: s.DurationSeconds, CronExpression: s.CronExpression, Timezone: &s.Timezone, KeepRuns: s.KeepRuns}
	var ok bool
	if out.Target, ok = targetName[s.TargetID]; !ok {
		return out, fmt.Errorf("schedule %q: its target %d is not in the list of targets", s.Name, s.TargetID)
	}
	o := &out.ScheduleOptions
	var err error
	if o.RunAt, err = parseTime(s.RunAt); err != nil {
		return out, err
	}
	if o.StartAt, err = parseTime(s.StartAt); err != nil {
		return out, err
	}
	if o.EndAt, err = parseTime(s.EndAt); err != nil {
		return out, err
	}
	o.MaxRuns, o.JitterSeconds, o.MisfireGrace = s.MaxRuns, &s.JitterSeconds, s.MisfireGrace
	o.OverlapPolicy, o.MaxParallel, o.MisfirePolicy, o.CatchUpMax = &s.OverlapPolicy, s.MaxParallel, &s.MisfirePolicy, s.CatchUpMax
	o.Assertions, o.AutoPauseAfter, o.RetryInterrupted = s.Assertions, s.AutoPauseAfter, &s.RetryInterrupted
	if a := s.Alert; a != nil {
		spec := &alertSpec{Notifiers: []string{}, FailureThreshold: &a.FailureThreshold, SuccessThreshold: &a.SuccessThreshold,
			RealertMinutes: &a.RealertMinutes, OnAutoPause: &a.OnAutoPause, OnWindowEnd: &a.OnWindowEnd}
		for _, id := range a.NotifierIDs {
			name, ok := notifierName[id]
			if !ok {
				return out, fmt.Errorf("schedule %q: its alert's notifier %d is not in the list of notifiers", s.Name, id)
			}
			spec.Notifiers = append(spec.Notifiers, name)
		}
		out.Alert = spec
	}
	return normSchedule(out), nil
}

func parseTime(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, fmt.Errorf("the API sent the time %q: %w", *s, err)
	}
	return &t, nil
}

func dropDefault[T comparable](p **T, def T) {
	if *p != nil && **p == def {
		*p = nil
	}
}

func valueOr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// fields encodes v as a map of its JSON fields.
func fields(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the specs always encode
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
