package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServerDB is startServer on any DATABASE_URL.
func startServerDB(t *testing.T, dbURL string, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	args := []string{"--port", "0", "--database-url", dbURL, "--shutdown-grace", "2s"}
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, "", io.Discard, logs) }()
	var url string
	select {
	case url = <-logs.addr:
	case err := <-done:
		cancel()
		t.Fatalf("server exited: %v\n%s", err, logs)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("server did not start:\n%s", logs)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &server{url: url, stop: stop, logs: logs}
}

// applyV1 is the file TestCLI_Apply starts from. Its URLs are loopback
// ports nothing listens on, and its schedules fire once a year, so apply
// sends no request anywhere.
const applyV1 = `
targets:
  - name: api
    url: http://127.0.0.1:9/jobs
    method: post
    headers:
      Content-Type: application/json
      Authorization: Bearer ${API_TOKEN_VALUE}
    timeout_seconds: 5
    assertions:
      - type: status
        in: ["2xx", 304]
  - name: plain
    url: http://127.0.0.1:9/plain
    auth:
      type: basic
      username: reporter
      password: ${PLAIN_PASSWORD}
notifiers:
  - name: ops
    type: webhook
    url: http://127.0.0.1:9/hook
    signing_secrets: ["${OPS_SECRET}"]
schedules:
  - name: yearly
    target: api
    schedule_type: CRON
    cron_expression: 0 0 1 1 *
    timezone: Europe/Paris
    alert:
      notifiers: [ops]
      failure_threshold: 2
  - name: hourly
    target: plain
    schedule_type: INTERVAL
    interval_seconds: 3600
    start_at: 2099-01-01T00:00:00+01:00
`

var applyEnv = map[string]string{
	"API_TOKEN_VALUE": "s3cret-token",
	"PLAIN_PASSWORD":  "pa55word",
	"OPS_SECRET":      "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

// planLines are the plan's lines of an apply's output.
func planLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if regexp.MustCompile(`^[-+~=] |^    |^plan: `).MatchString(l) {
			lines = append(lines, l)
		}
	}
	return lines
}

func checkPlan(t *testing.T, what, out string, want ...string) {
	t.Helper()
	got := planLines(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: the plan is\n%s\nwant\n%s\n(output:\n%s)", what, strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

func TestCLI_Apply(t *testing.T) {
	t.Parallel()
	testApply(t, func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "apply.db") })
}

func TestCLI_ApplyPostgres(t *testing.T) {
	testApply(t, func(t *testing.T) string {
		url, _ := pgSchemaURL(t)
		return url
	})
}

// testApply: apply creates what the file says and prints its plan; again,
// all is unchanged; a changed field is an update naming it; --dry-run
// changes nothing; --prune deletes what the file no longer names; names
// that match two objects are refused; export applied to an empty server
// exports the same again.
func testApply(t *testing.T, database func(t *testing.T) string) {
	s := startServerDB(t, database(t), nil)
	dir := t.TempDir()
	file := writeFile(t, dir, "apicron.yaml", applyV1)

	r := runCLI(t, s, applyEnv, "apply", "-f", file, "--dry-run").must(t)
	if !strings.Contains(r.stdout, "dry run: nothing was changed") {
		t.Errorf("dry run output:\n%s", r.stdout)
	}
	if out := runCLI(t, s, nil, "targets", "list", "-o", "json").must(t).stdout; strings.TrimSpace(out) != "[]" {
		t.Fatalf("--dry-run created targets: %s", out)
	}

	r = runCLI(t, s, applyEnv, "apply", "-f", file).must(t)
	checkPlan(t, "first apply", r.stdout,
		`+ notifier "ops": create`,
		`+ target "api": create`,
		`+ target "plain": create`,
		`+ schedule "yearly": create`,
		`+ schedule "hourly": create`,
		`plan: 5 to create, 0 to update, 0 unchanged, 0 to delete`)
	var sc []map[string]any
	if err := json.Unmarshal([]byte(runCLI(t, s, nil, "schedules", "list", "-o", "json").must(t).stdout), &sc); err != nil || len(sc) != 2 {
		t.Fatalf("schedules after apply: %v %v", sc, err)
	}
	alert, _ := sc[0]["alert"].(map[string]any)
	if sc[0]["name"] != "yearly" || alert == nil || fmt.Sprint(alert["notifier_ids"]) != "[1]" || alert["failure_threshold"] != 2.0 {
		t.Errorf("the schedule yearly is %v", sc[0])
	}

	r = runCLI(t, s, applyEnv, "apply", "-f", file).must(t)
	checkPlan(t, "second apply", r.stdout,
		`= notifier "ops" #1: unchanged`,
		`= target "api" #1: unchanged`,
		`= target "plain" #2: unchanged`,
		`= schedule "yearly" #1: unchanged`,
		`= schedule "hourly" #2: unchanged`,
		`plan: 0 to create, 0 to update, 5 unchanged, 0 to delete`)

	v2 := strings.Replace(applyV1, "timeout_seconds: 5", "timeout_seconds: 10", 1)
	v2 = strings.Replace(v2, "interval_seconds: 3600", "interval_seconds: 7200", 1)
	writeFile(t, dir, "apicron.yaml", v2)
	dry := runCLI(t, s, applyEnv, "apply", "-f", file, "--dry-run").must(t)
	r = runCLI(t, s, applyEnv, "apply", "-f", file).must(t)
	want := []string{
		`= notifier "ops" #1: unchanged`,
		`~ target "api" #1: update`,
		`    timeout_seconds: 5 -> 10`,
		`= target "plain" #2: unchanged`,
		`= schedule "yearly" #1: unchanged`,
		`~ schedule "hourly" #2: update`,
		`    interval_seconds: 3600 -> 7200`,
		`plan: 0 to create, 2 to update, 3 unchanged, 0 to delete`}
	checkPlan(t, "dry run of a change", dry.stdout, want...)
	checkPlan(t, "apply of a change", r.stdout, want...)
	if out := runCLI(t, s, nil, "targets", "get", "api", "-o", "json").must(t).stdout; !strings.Contains(out, `"timeout_seconds": 10`) {
		t.Errorf("the update did not reach the server:\n%s", out)
	}
	r = runCLI(t, s, applyEnv, "apply", "-f", file).must(t)
	checkPlan(t, "apply after the change", r.stdout,
		`= notifier "ops" #1: unchanged`, `= target "api" #1: unchanged`, `= target "plain" #2: unchanged`,
		`= schedule "yearly" #1: unchanged`, `= schedule "hourly" #2: unchanged`,
		`plan: 0 to create, 0 to update, 5 unchanged, 0 to delete`)

	// The export, before the prune, onto an empty server.
	exp1 := runCLI(t, s, nil, "export").must(t).stdout
	for _, secret := range applyEnv {
		if strings.Contains(exp1, secret) || strings.Contains(exp1, secret[len(secret)-4:]+"\n") {
			t.Errorf("export wrote the secret %q:\n%s", secret, exp1)
		}
	}
	for _, want := range []string{"${TARGET_API_AUTH_TOKEN}", "${TARGET_PLAIN_AUTH_PASSWORD}", "${NOTIFIER_OPS_SIGNING_SECRET_1}", "# Secret values are never exported"} {
		if !strings.Contains(exp1, want) {
			t.Errorf("export lacks %q:\n%s", want, exp1)
		}
	}
	exported := writeFile(t, t.TempDir(), "export.yaml", exp1)
	fresh := startServerDB(t, database(t), nil)
	exportEnv := map[string]string{"TARGET_API_AUTH_TOKEN": "other", "TARGET_PLAIN_AUTH_PASSWORD": "x",
		"NOTIFIER_OPS_SIGNING_SECRET_1": applyEnv["OPS_SECRET"]}
	runCLI(t, fresh, exportEnv, "apply", "-f", exported).must(t)
	if exp2 := runCLI(t, fresh, nil, "export").must(t).stdout; exp2 != exp1 {
		t.Errorf("the export of the server export was applied to differs:\n%s\nwant:\n%s", exp2, exp1)
	}
	r = runCLI(t, fresh, exportEnv, "apply", "-f", exported).must(t)
	if !strings.Contains(r.stdout, "plan: 0 to create, 0 to update, 5 unchanged, 0 to delete") {
		t.Errorf("the export applied twice:\n%s", r.stdout)
	}

	// Prune: the file without plain and hourly.
	v3 := v2[:strings.Index(v2, "  - name: plain")] + v2[strings.Index(v2, "notifiers:"):strings.Index(v2, "  - name: hourly")]
	writeFile(t, dir, "apicron.yaml", v3)
	r = runCLI(t, s, applyEnv, "apply", "-f", dir, "--prune").must(t)
	checkPlan(t, "prune", r.stdout,
		`= notifier "ops" #1: unchanged`, `= target "api" #1: unchanged`, `= schedule "yearly" #1: unchanged`,
		`- schedule "hourly" #2: delete`, `- target "plain" #2: delete`,
		`plan: 0 to create, 0 to update, 3 unchanged, 2 to delete`)
	if out := runCLI(t, s, nil, "targets", "list").must(t).stdout; strings.Contains(out, "plain") {
		t.Errorf("prune left the target plain:\n%s", out)
	}

	// Two targets named api: apply names both and changes nothing.
	runCLI(t, s, nil, "targets", "create", "--name", "api", "--url", "http://127.0.0.1:9/other").must(t)
	r = runCLI(t, s, applyEnv, "apply", "-f", file)
	if r.code != exitRefused || !strings.Contains(r.err.Error(), `target "api" matches 2 targets on the server (ids 1, 3)`) {
		t.Errorf("apply with an ambiguous name: exit %d %v", r.code, r.err)
	}
	// An unset variable.
	r = runCLI(t, s, map[string]string{"API_TOKEN_VALUE": "x"}, "apply", "-f", file)
	if r.code != exitRefused || !strings.Contains(r.err.Error(), "OPS_SECRET") {
		t.Errorf("apply with a variable unset: exit %d %v", r.code, r.err)
	}
}

// TestCLI_ApplyInvalid: the API's 422 stops apply with exit code 4 and
// names the field.
func TestCLI_ApplyInvalid(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "invalid.db"), nil)
	file := writeFile(t, t.TempDir(), "bad.yaml", "targets:\n  - name: bad\n    url: http://127.0.0.1:9/\n    timeout_seconds: -1\n")
	r := runCLI(t, s, nil, "apply", "-f", file)
	if r.code != exitRefused || !strings.Contains(r.err.Error(), "timeout_seconds") {
		t.Errorf("apply of a bad target: exit %d %v, want 4 naming timeout_seconds", r.code, r.err)
	}
	typo := writeFile(t, t.TempDir(), "typo.yaml", "targets:\n  - name: x\n    urll: http://127.0.0.1:9/\n")
	if r := runCLI(t, s, nil, "apply", "-f", typo); r.code != exitRefused || !strings.Contains(r.err.Error(), "urll") {
		t.Errorf("apply of an unknown field: exit %d %v", r.code, r.err)
	}
}

// TestExampleApplyFile: the example of docs/cli.md parses, with its
// variables set, and every schedule names a target of the file.
func TestExampleApplyFile(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BILLING_API_KEY": "k", "REPORTS_TOKEN": "t", "OPS_SIGNING_SECRET": "whsec_x", "OPS_SLACK_URL": "https://hooks.slack.com/services/x"}
	f, err := readApplyFiles([]string{"../../docs/examples/apicron.yaml"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Targets) != 3 || len(f.Notifiers) != 2 || len(f.Schedules) != 4 {
		t.Errorf("the example has %d targets, %d notifiers, %d schedules", len(f.Targets), len(f.Notifiers), len(f.Schedules))
	}
	names := map[string]bool{}
	for _, tg := range f.Targets {
		names[tg.Name] = true
	}
	for _, s := range f.Schedules {
		if !names[s.Target] {
			t.Errorf("schedule %q names the target %q, which the file lacks", s.Name, s.Target)
		}
	}
	if r := f.Schedules[0].RetryInterrupted; r == nil || !*r {
		t.Errorf("nightly-invoices: retry_interrupted %v, want true", r)
	}
	if f.Targets[0].Headers["X-Api-Key"] != "k" {
		t.Errorf("${BILLING_API_KEY} became %q", f.Targets[0].Headers["X-Api-Key"])
	}
	if _, err := os.Stat("../../docs/cli.md"); err != nil {
		t.Error(err)
	}
}

// TestCLI_ExportLiteralsAndNames: text that looks like a reference, ${X},
// is exported escaped and applied back as the same text; two names that
// make the same variable name get two variables, so they never share a
// secret.
func TestCLI_ExportLiteralsAndNames(t *testing.T) {
	t.Parallel()
	database := func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "apicron.db") }
	s := startServerDB(t, database(t), nil)
	runCLI(t, s, map[string]string{"A": "first-s3cret", "B": "second-s3cret"}, "apply", "-f", writeFile(t, t.TempDir(), "a.yaml", `
targets:
  - name: a-b
    url: http://127.0.0.1:9/x
    body_template: '{"id": "$${ORDER_ID}", "kept": "$$${NOT}"}'
    headers: {Authorization: "Bearer ${A}"}
  - name: a_b
    url: http://127.0.0.1:9/y
    headers: {Authorization: "Bearer ${B}"}
`)).must(t)
	exp := runCLI(t, s, nil, "export").must(t).stdout
	if !strings.Contains(exp, "${TARGET_A_B_AUTH_TOKEN}") || !strings.Contains(exp, "${TARGET_A_B_AUTH_TOKEN_2}") {
		t.Fatalf("the two targets' secrets are not two variables:\n%s", exp)
	}
	fresh := startServerDB(t, database(t), nil)
	env := map[string]string{"TARGET_A_B_AUTH_TOKEN": "x", "TARGET_A_B_AUTH_TOKEN_2": "y"}
	runCLI(t, fresh, env, "apply", "-f", writeFile(t, t.TempDir(), "e.yaml", exp)).must(t)
	got := runCLI(t, fresh, nil, "targets", "get", "a-b", "-o", "json").must(t).stdout
	if !strings.Contains(got, `"body_template": "{\"id\": \"${ORDER_ID}\", \"kept\": \"$${NOT}\"}"`) {
		t.Fatalf("the body template came back as\n%s", got)
	}
	if exp2 := runCLI(t, fresh, nil, "export").must(t).stdout; exp2 != exp {
		t.Errorf("the round trip changed the export:\n%s\nwant\n%s", exp2, exp)
	}
}
