package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apicron/apicron"
	apiclient "github.com/apicron/apicron/client"
)

func newApplyCmd(c *cli) *cobra.Command {
	var files []string
	var dryRun, prune, sendSecrets bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR... [--dry-run] [--prune]",
		Short: "make the server's targets, notifiers and schedules those the files describe",
		Long: `apply reads targets, notifiers and schedules from YAML or JSON files (a directory: its .yaml,
.yml and .json files), matches each to the server's object of the same name, prints the plan
(create, update with the fields that change, unchanged, and with --prune delete) and carries it
out. ${NAME} in a value is the environment variable NAME; an unset one is an error. A secret the
server holds counts as unchanged, since the API never shows it: --send-secrets sends every secret
again. The file format is in docs/cli.md.`,
		Args: noArgs,
		Example: `  apicron apply -f apicron.yaml --dry-run
  apicron apply -f config/ --prune`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usageErrorf("apply needs -f FILE or -f DIR")
			}
			f, err := readApplyFiles(files, c.getenv)
			if err != nil {
				return err
			}
			cl := c.client()
			p, err := makePlan(cmd.Context(), cl, f, prune, sendSecrets)
			if err != nil {
				return err
			}
			p.write(c.stdout)
			if dryRun {
				fmt.Fprintln(c.stdout, "dry run: nothing was changed")
				return nil
			}
			if p.changes() == 0 {
				return nil
			}
			if err := p.apply(cmd.Context(), cl, c.stdout); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "applied")
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "a YAML or JSON file, or a directory of them (repeat it for more)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "also delete the targets, notifiers and schedules the files do not name")
	cmd.Flags().BoolVar(&sendSecrets, "send-secrets", false, "send every secret value of the files, as an update of each object that has one")
	return cmd
}

// action is what apply does to one object.
type action string

const (
	actCreate    action = "create"
	actUpdate    action = "update"
	actUnchanged action = "unchanged"
	actDelete    action = "delete"
)

// step is one object of a plan.
type step struct {
	kind   string // target, notifier, schedule
	name   string
	id     int64 // the server's object, 0 for a create
	act    action
	fields []fieldChange
	// body is the create or update body (without the references a
	// schedule resolves when the plan runs).
	body map[string]any
	// spec is the schedule's, for its references.
	schedule *scheduleSpec
}

type fieldChange struct {
	name     string
	old, new any // masked
}

// plan is what apply will do, in order: notifiers, targets, schedules,
// then the deletes, schedules first.
type plan struct {
	steps []step
}

func (p *plan) changes() int {
	n := 0
	for _, s := range p.steps {
		if s.act != actUnchanged {
			n++
		}
	}
	return n
}

// write prints the plan: a line for each object, and one of counts.
func (p *plan) write(w io.Writer) {
	count := map[action]int{}
	for _, s := range p.steps {
		count[s.act]++
		id := ""
		if s.id != 0 {
			id = " #" + strconv.FormatInt(s.id, 10)
		}
		sign := map[action]string{actCreate: "+", actUpdate: "~", actUnchanged: "=", actDelete: "-"}[s.act]
		fmt.Fprintf(w, "%s %s %q%s: %s\n", sign, s.kind, s.name, id, s.act)
		for _, f := range s.fields {
			fmt.Fprintf(w, "    %s: %s -> %s\n", f.name, show(f.old), show(f.new))
		}
	}
	fmt.Fprintf(w, "plan: %d to create, %d to update, %d unchanged, %d to delete\n",
		count[actCreate], count[actUpdate], count[actUnchanged], count[actDelete])
}

// show is a field's value in a plan: compact JSON, cut short.
func show(v any) string {
	if v == nil {
		return "(default)"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// serverState is the server's objects, by kind and name.
type serverState struct {
	targets   []apiclient.Target
	notifiers []apiclient.Notifier
	schedules []apiclient.Schedule
}

func readServer(ctx context.Context, cl *apiclient.Client) (*serverState, error) {
	var st serverState
	var err error
	if st.targets, err = cl.AllTargets(ctx); err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	if st.notifiers, err = cl.AllNotifiers(ctx); err != nil {
		return nil, fmt.Errorf("list notifiers: %w", err)
	}
	if st.schedules, err = cl.AllSchedules(ctx); err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return &st, nil
}

// byName groups items by name, in id order.
func byName[T any](items []T, name func(T) string) map[string][]T {
	out := map[string][]T{}
	for _, it := range items {
		out[name(it)] = append(out[name(it)], it)
	}
	return out
}

// ambiguous says which names of want match more than one object.
func ambiguous[T any](kind string, want []string, have map[string][]T, id func(T) int64) []string {
	var out []string
	for _, n := range want {
		if list := have[n]; len(list) > 1 {
			ids := make([]string, len(list))
			for i, it := range list {
				ids[i] = strconv.FormatInt(id(it), 10)
			}
			out = append(out, fmt.Sprintf("%s %q matches %d %ss on the server (ids %s)", kind, n, len(list), kind, strings.Join(ids, ", ")))
		}
	}
	return out
}

// makePlan compares the files with the server.
func makePlan(ctx context.Context, cl *apiclient.Client, f *applyFile, prune, sendSecrets bool) (*plan, error) {
	st, err := readServer(ctx, cl)
	if err != nil {
		return nil, err
	}
	targets := byName(st.targets, func(t apiclient.Target) string { return t.Name })
	notifiers := byName(st.notifiers, func(n apiclient.Notifier) string { return n.Name })
	schedules := byName(st.schedules, func(s apiclient.Schedule) string { return s.Name })

	var names struct{ t, n, s []string }
	for _, t := range f.Targets {
		names.t = append(names.t, t.Name)
	}
	for _, n := range f.Notifiers {
		names.n = append(names.n, n.Name)
	}
	for _, s := range f.Schedules {
		names.s = append(names.s, s.Name)
	}
	var amb []string
	amb = append(amb, ambiguous("target", names.t, targets, func(t apiclient.Target) int64 { return t.ID })...)
	amb = append(amb, ambiguous("notifier", names.n, notifiers, func(n apiclient.Notifier) int64 { return n.ID })...)
	amb = append(amb, ambiguous("schedule", names.s, schedules, func(s apiclient.Schedule) int64 { return s.ID })...)
	// A schedule's target or notifier named only on the server must be one.
	for _, s := range f.Schedules {
		refs := []string{}
		if !slices.Contains(names.t, s.Target) {
			refs = append(refs, s.Target)
		}
		amb = append(amb, ambiguous("target", refs, targets, func(t apiclient.Target) int64 { return t.ID })...)
	}
	if len(amb) > 0 {
		return nil, refusedf("names must match one object each: %s; rename or delete the others, then apply again", strings.Join(amb, "; "))
	}

	targetName := map[int64]string{}
	for _, t := range st.targets {
		targetName[t.ID] = t.Name
	}
	notifierName := map[int64]string{}
	for _, n := range st.notifiers {
		notifierName[n.ID] = n.Name
	}
	// Names a schedule may refer to: the files', and the server's that stay.
	knownTarget := func(name string) bool {
		return slices.Contains(names.t, name) || (!prune && len(targets[name]) == 1)
	}
	knownNotifier := func(name string) bool {
		return slices.Contains(names.n, name) || (!prune && len(notifiers[name]) == 1)
	}

	p := &plan{}
	var refErrs []string
	for _, want := range f.Notifiers {
		want = normNotifier(want)
		have := notifiers[want.Name]
		if len(have) == 0 {
			p.steps = append(p.steps, step{kind: "notifier", name: want.Name, act: actCreate, body: fields(want)})
			continue
		}
		cur := notifierSpec(have[0])
		if cur.Type != want.Type {
			return nil, refusedf("notifier %q is of type %s on the server and %s in the files: a notifier's type cannot change (delete it first)", want.Name, cur.Type, want.Type)
		}
		mask := func(n apiclient.NotifierCreate) map[string]any {
			return fields(secretsOfNotifier(n, func(string, string) string { return apicron.MaskedValue }))
		}
		changed := diff(mask(want), mask(cur), nil)
		if sendSecrets && hasNotifierSecret(want) {
			changed = addKeys(changed, "url", "email", "signing_secrets")
		}
		p.steps = append(p.steps, updateStep("notifier", want.Name, have[0].ID, changed, mask(want), mask(cur), fields(want), notifierReset))
	}
	for _, want := range f.Targets {
		want = normTarget(want)
		have := targets[want.Name]
		if len(have) == 0 {
			p.steps = append(p.steps, step{kind: "target", name: want.Name, act: actCreate, body: fields(want)})
			continue
		}
		cur := targetSpec(have[0])
		mw, mc := fields(maskTarget(want)), fields(cur)
		changed := diff(mw, mc, nil)
		if sendSecrets && hasTargetSecret(want) {
			changed = addKeys(changed, "headers", "auth", "client_cert", "signing_secrets")
		}
		s := updateStep("target", want.Name, have[0].ID, changed, mw, mc, fields(want), targetReset)
		if s.body != nil && s.body["headers"] != nil && want.Auth != nil {
			// The Authorization header of basic and bearer auth comes from
			// auth: send it beside the headers, which replace all.
			s.body["auth"] = fields(want)["auth"]
		}
		p.steps = append(p.steps, s)
	}
	for _, want := range f.Schedules {
		want = normSchedule(want)
		if !knownTarget(want.Target) {
			refErrs = append(refErrs, fmt.Sprintf("schedule %q: no target is named %q", want.Name, want.Target))
		}
		if want.Alert != nil {
			for _, n := range want.Alert.Notifiers {
				if !knownNotifier(n) {
					refErrs = append(refErrs, fmt.Sprintf("schedule %q: no notifier is named %q", want.Name, n))
				}
			}
		}
		w := want
		have := schedules[want.Name]
		if len(have) == 0 {
			p.steps = append(p.steps, step{kind: "schedule", name: want.Name, act: actCreate, body: fields(want), schedule: &w})
			continue
		}
		cur, err := scheduleSpecOf(have[0], targetName, notifierName)
		if err != nil {
			return nil, err
		}
		var ignore []string
		if want.Timezone == nil {
			ignore = append(ignore, "timezone") // the server's default zone, whatever it is
		}
		mw, mc := fields(want), fields(cur)
		changed := diff(mw, mc, ignore)
		s := updateStep("schedule", want.Name, have[0].ID, changed, mw, mc, fields(want), scheduleReset)
		s.schedule = &w
		p.steps = append(p.steps, s)
	}
	if len(refErrs) > 0 {
		return nil, refusedf("%s", strings.Join(refErrs, "; "))
	}
	if prune {
		for _, s := range st.schedules {
			if !slices.Contains(names.s, s.Name) {
				p.steps = append(p.steps, step{kind: "schedule", name: s.Name, id: s.ID, act: actDelete})
			}
		}
		for _, t := range st.targets {
			if !slices.Contains(names.t, t.Name) {
				p.steps = append(p.steps, step{kind: "target", name: t.Name, id: t.ID, act: actDelete})
			}
		}
		for _, n := range st.notifiers {
			if !slices.Contains(names.n, n.Name) {
				p.steps = append(p.steps, step{kind: "notifier", name: n.Name, id: n.ID, act: actDelete})
			}
		}
	}
	return p, nil
}

func hasTargetSecret(t apiclient.TargetCreate) bool {
	found := false
	secretsOfTarget(t, func(_, v string) string { found = true; return v })
	return found
}

func hasNotifierSecret(n apiclient.NotifierCreate) bool {
	found := false
	secretsOfNotifier(n, func(_, v string) string { found = true; return v })
	return found
}

// diff lists the keys whose values differ between want and have, sorted,
// leaving out ignore.
func diff(want, have map[string]any, ignore []string) []string {
	var out []string
	for k := range want {
		if !reflect.DeepEqual(want[k], have[k]) && !slices.Contains(ignore, k) {
			out = append(out, k)
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && !slices.Contains(ignore, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func addKeys(keys []string, more ...string) []string {
	for _, k := range more {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// updateStep is an update of the changed keys, or unchanged. A key the
// files leave out goes back to its default: reset says how to ask for it
// (absent from reset: null; reset to nil: not sent).
func updateStep(kind, name string, id int64, changed []string, maskedWant, maskedHave, want map[string]any, reset map[string]any) step {
	s := step{kind: kind, name: name, id: id, act: actUnchanged}
	if len(changed) == 0 {
		return s
	}
	s.act = actUpdate
	s.body = map[string]any{}
	for _, k := range changed {
		s.fields = append(s.fields, fieldChange{name: k, old: maskedHave[k], new: maskedWant[k]})
		if v, ok := want[k]; ok {
			s.body[k] = v
			continue
		}
		if r, ok := reset[k]; ok {
			if r != nil {
				s.body[k] = r
			}
			continue
		}
		s.body[k] = nil
	}
	return s
}

// noSend marks a field whose default cannot be sent: the update leaves it,
// and the server clears it with the field that needs it.
var noSend any

var targetReset = map[string]any{
	"method": "GET", "headers": map[string]any{}, "secret_headers": []any{}, "allow_insecure_redirects": false,
	"auth": map[string]any{"type": "none"}, "signing_secrets": []any{}, "assertions": []any{},
}

var notifierReset = map[string]any{"signing_secrets": []any{}, "url": noSend, "email": noSend}

var scheduleReset = map[string]any{
	"jitter_seconds": 0, "overlap_policy": string(apicron.OverlapSkip), "misfire_policy": string(apicron.MisfireCoalesce),
	"retry_interrupted": false, "interval_seconds": noSend, "duration_seconds": noSend, "cron_expression": noSend, "run_at": noSend, "timezone": noSend,
}

// apply carries the plan out, step by step, printing each.
func (p *plan) apply(ctx context.Context, cl *apiclient.Client, w io.Writer) error {
	targetID := map[string]int64{}
	notifierID := map[string]int64{}
	// References to objects the files do not name, but the server has.
	st, err := readServer(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range st.targets {
		targetID[t.Name] = t.ID
	}
	for _, n := range st.notifiers {
		notifierID[n.Name] = n.ID
	}
	for _, s := range p.steps {
		if s.act == actUnchanged || s.act == actDelete {
			continue
		}
		body := s.body
		if s.kind == "schedule" {
			body = scheduleBody(s, targetID, notifierID)
		}
		var id int64
		var err error
		switch {
		case s.kind == "notifier" && s.act == actCreate:
			var n *apiclient.Notifier
			if n, err = cl.CreateNotifierRaw(ctx, body); err == nil {
				id = n.ID
			}
		case s.kind == "notifier":
			_, err = cl.UpdateNotifierRaw(ctx, s.id, body)
			id = s.id
		case s.kind == "target" && s.act == actCreate:
			var t *apiclient.Target
			if t, err = cl.CreateTargetRaw(ctx, body); err == nil {
				id = t.ID
			}
		case s.kind == "target":
			_, err = cl.UpdateTargetRaw(ctx, s.id, body)
			id = s.id
		case s.act == actCreate:
			var sc *apiclient.Schedule
			if sc, err = cl.CreateScheduleRaw(ctx, body); err == nil {
				id = sc.ID
			}
		default:
			_, err = cl.UpdateScheduleRaw(ctx, s.id, body)
			id = s.id
		}
		if err != nil {
			return fmt.Errorf("%s %s %q: %w", s.act, s.kind, s.name, err)
		}
		switch s.kind {
		case "target":
			targetID[s.name] = id
		case "notifier":
			notifierID[s.name] = id
		}
		fmt.Fprintf(w, "%sd %s %q #%d\n", s.act, s.kind, s.name, id)
	}
	for _, s := range p.steps {
		if s.act != actDelete {
			continue
		}
		var err error
		switch s.kind {
		case "schedule":
			err = cl.DeleteSchedule(ctx, s.id)
		case "target":
			err = cl.DeleteTarget(ctx, s.id)
		default:
			err = cl.DeleteNotifier(ctx, s.id)
		}
		if err != nil && !apiclient.IsNotFound(err) {
			return fmt.Errorf("delete %s %q #%d: %w", s.kind, s.name, s.id, err)
		}
		fmt.Fprintf(w, "deleted %s %q #%d\n", s.kind, s.name, s.id)
	}
	return nil
}

// scheduleBody is a schedule step's body with its references resolved:
// target for target_id, alert.notifiers for alert.notifier_ids.
func scheduleBody(s step, targetID, notifierID map[string]int64) map[string]any {
	body := make(map[string]any, len(s.body)+1)
	for k, v := range s.body {
		body[k] = v
	}
	if _, ok := body["target"]; ok || s.act == actCreate {
		delete(body, "target")
		body["target_id"] = targetID[s.schedule.Target]
	}
	if a, ok := body["alert"].(map[string]any); ok {
		rule := make(map[string]any, len(a))
		for k, v := range a {
			rule[k] = v
		}
		delete(rule, "notifiers")
		ids := []int64{}
		for _, n := range s.schedule.Alert.Notifiers {
			ids = append(ids, notifierID[n])
		}
		rule["notifier_ids"] = ids
		body["alert"] = rule
	}
	return body
}
