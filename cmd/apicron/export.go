package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

func newExportCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "write the server's targets, notifiers and schedules as a file apply takes",
		Long: `export writes the server's targets, notifiers and schedules in the format of apicron apply, in YAML
(-o json for JSON), sorted by name. Secret values are never written: each is a ${NAME} placeholder,
listed in the file's first comment, for apply to read from the environment. A schedule's status
(paused, stopped) and its runs are not part of it.`,
		Args:    noArgs,
		Example: "  apicron export > apicron.yaml",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := readServer(cmd.Context(), c.client())
			if err != nil {
				return err
			}
			f, vars, err := exportFile(st)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.print(f, nil)
			}
			b, err := toYAML(f)
			if err != nil {
				return err
			}
			fmt.Fprint(c.stdout, exportHeader(vars))
			_, err = c.stdout.Write(b)
			return err
		},
	}
}

// exportHeader is the comment atop an export: what it is, and the
// environment variables its secrets are read from.
func exportHeader(vars []string) string {
	var sb strings.Builder
	sb.WriteString("# apicron targets, notifiers and schedules, written by apicron export; apicron apply -f takes it.\n")
	sb.WriteString("# Secret values are never exported: each is a ${NAME} placeholder that apply reads from the\n")
	sb.WriteString("# environment, so set them before apply.\n")
	if len(vars) > 0 {
		sb.WriteString("# Placeholders: " + strings.Join(vars, ", ") + "\n")
	}
	return sb.String()
}

var notWord = regexp.MustCompile(`[^A-Z0-9]+`)

// placeholder is the environment variable of one secret of an export.
func placeholder(kind, name, field string) string {
	v := strings.ToUpper(kind + "_" + name + "_" + field)
	return strings.Trim(notWord.ReplaceAllString(v, "_"), "_")
}

// exportFile converts the server's objects, secrets as placeholders; it
// refuses a name that two objects of a kind share, which apply would.
func exportFile(st *serverState) (*applyFile, []string, error) {
	var dup []string
	check := func(kind string, names []string) {
		slices.Sort(names)
		for i := 1; i < len(names); i++ {
			if names[i] == names[i-1] && (i < 2 || names[i-2] != names[i]) {
				dup = append(dup, fmt.Sprintf("%s %q", kind, names[i]))
			}
		}
	}
	var tn, nn, sn []string
	targetName := map[int64]string{}
	for _, t := range st.targets {
		tn = append(tn, t.Name)
		targetName[t.ID] = t.Name
	}
	notifierName := map[int64]string{}
	for _, n := range st.notifiers {
		nn = append(nn, n.Name)
		notifierName[n.ID] = n.Name
	}
	for _, s := range st.schedules {
		sn = append(sn, s.Name)
	}
	check("target", tn)
	check("notifier", nn)
	check("schedule", sn)
	if len(dup) > 0 {
		return nil, nil, refusedf("names must be unique to export (apply matches by name), and these are not: %s", strings.Join(dup, ", "))
	}

	var vars []string
	used := map[string]bool{}
	// unique is v, or v_2, v_3...: names that differ only in what a
	// variable cannot hold (a-b, a_b) must not share one secret.
	unique := func(v string) string {
		name := v
		for i := 2; used[name]; i++ {
			name = v + "_" + strconv.Itoa(i)
		}
		used[name] = true
		vars = append(vars, name)
		return "${" + name + "}"
	}
	f := &applyFile{}
	for _, t := range st.targets {
		spec, err := escapeRefs(targetSpec(t))
		if err != nil {
			return nil, nil, err
		}
		f.Targets = append(f.Targets, secretsOfTarget(spec, func(field, _ string) string {
			return unique(placeholder("target", t.Name, field))
		}))
	}
	for _, n := range st.notifiers {
		spec, err := escapeRefs(notifierSpec(n))
		if err != nil {
			return nil, nil, err
		}
		f.Notifiers = append(f.Notifiers, secretsOfNotifier(spec, func(field, _ string) string {
			return unique(placeholder("notifier", n.Name, field))
		}))
	}
	for _, s := range st.schedules {
		spec, err := scheduleSpecOf(s, targetName, notifierName)
		if err == nil {
			spec, err = escapeRefs(spec)
		}
		if err != nil {
			return nil, nil, err
		}
		f.Schedules = append(f.Schedules, spec)
	}
	slices.SortFunc(f.Targets, func(a, b apiclient.TargetCreate) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(f.Notifiers, func(a, b apiclient.NotifierCreate) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(f.Schedules, func(a, b scheduleSpec) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(vars)
	return f, vars, nil
}

// escapeRefs returns v with every ${NAME} in its strings written $${NAME},
// which apply reads back as the text ${NAME}: a body template or URL that
// holds such text is exported as it is, not as a reference to expand.
func escapeRefs[T any](v T) (T, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return v, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return v, err
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case string:
			return envRef.ReplaceAllStringFunc(x, func(m string) string { return "$" + m })
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return x
	}
	if raw, err = json.Marshal(walk(doc)); err != nil {
		return v, err
	}
	var out T
	err = json.Unmarshal(raw, &out)
	return out, err
}
