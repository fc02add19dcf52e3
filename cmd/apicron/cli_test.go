package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// cliResult is what one apicron command printed and its exit code.
type cliResult struct {
	stdout, stderr string
	code           int
	err            error
}

// runCLI runs apicron args as main does, against s, with env.
func runCLI(t *testing.T, s *server, env map[string]string, args ...string) cliResult {
	t.Helper()
	return runCLIContext(context.Background(), t, s, env, args...)
}

func runCLIContext(ctx context.Context, t *testing.T, s *server, env map[string]string, args ...string) cliResult {
	t.Helper()
	vars := map[string]string{}
	if s != nil {
		vars["APICRON_URL"] = s.url
	}
	for k, v := range env {
		vars[k] = v
	}
	var out, errb bytes.Buffer
	err := run(ctx, args, func(k string) string { return vars[k] }, t.TempDir(), &out, &errb)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: exitCode(err), err: err}
}

func (r cliResult) must(t *testing.T) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %v\nstdout:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, r.stderr)
	}
	return r
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLI_Resources drives targets, schedules, runs, notifiers and status
// against a real server: a table by default, JSON with -o json, ids or names.
func TestCLI_Resources(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cli.db"), nil)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(echo.Close)

	out := runCLI(t, s, nil, "targets", "create", "--name", "echo", "--url", echo.URL+"/get", "--header", "X-Env=test").must(t).stdout
	if !strings.Contains(out, "ID") || !strings.Contains(out, "echo") || !strings.Contains(out, echo.URL) {
		t.Errorf("targets create printed:\n%s", out)
	}
	dir := t.TempDir()
	body := writeFile(t, dir, "schedule.yaml", "name: hourly\ntarget_id: 1\nschedule_type: CRON\ncron_expression: '0 * * * *'\ntimezone: Europe/Paris\n")
	runCLI(t, s, nil, "schedules", "create", "-f", body).must(t)

	var targets []map[string]any
	if err := json.Unmarshal([]byte(runCLI(t, s, nil, "targets", "list", "-o", "json").must(t).stdout), &targets); err != nil || len(targets) != 1 {
		t.Fatalf("targets list -o json: %v %v", targets, err)
	}
	if h := targets[0]["headers"].(map[string]any); h["X-Env"] != "test" {
		t.Errorf("the --header flag did not reach the target: %v", h)
	}
	yamlOut := runCLI(t, s, nil, "schedules", "get", "hourly", "-o", "yaml").must(t).stdout
	if !strings.Contains(yamlOut, "cron_expression: 0 * * * *") || !strings.Contains(yamlOut, "timezone: Europe/Paris") {
		t.Errorf("schedules get -o yaml:\n%s", yamlOut)
	}
	runCLI(t, s, nil, "schedules", "update", "hourly", "--cron", "30 * * * *").must(t)
	prev := runCLI(t, s, nil, "schedules", "preview", "1", "-n", "3").must(t).stdout
	if n := strings.Count(prev, ":30:00.000Z"); n != 6 { // at and fire_at
		t.Errorf("preview of 30 * * * * shows %d times at :30:\n%s", n, prev)
	}
	if out := runCLI(t, s, nil, "schedules", "pause", "hourly", "--reason", "maintenance").must(t).stdout; !strings.Contains(out, "PAUSED") {
		t.Errorf("pause printed:\n%s", out)
	}
	if out := runCLI(t, s, nil, "schedules", "resume", "hourly").must(t).stdout; !strings.Contains(out, "ACTIVE") {
		t.Errorf("resume printed:\n%s", out)
	}
	trig := runCLI(t, s, nil, "schedules", "trigger", "hourly", "-o", "json").must(t).stdout
	var run struct {
		RunID int64 `json:"run_id"`
	}
	if err := json.Unmarshal([]byte(trig), &run); err != nil || run.RunID == 0 {
		t.Fatalf("trigger: %s %v", trig, err)
	}
	waitFor(t, 10*time.Second, "the triggered run", func() bool {
		r := runCLI(t, s, nil, "runs", "get", fmt.Sprint(run.RunID), "-o", "json")
		return r.code == 0 && strings.Contains(r.stdout, `"status": "SUCCESS"`)
	})
	if out := runCLI(t, s, nil, "runs", "list", "--schedule", "hourly", "--trigger", "manual").must(t).stdout; !strings.Contains(out, "SUCCESS") || !strings.Contains(out, "manual") {
		t.Errorf("runs list:\n%s", out)
	}
	runCLI(t, s, nil, "notifiers", "create", "--name", "ops", "--type", "webhook", "--url", echo.URL+"/hook").must(t)
	if out := runCLI(t, s, nil, "notifiers", "list").must(t).stdout; !strings.Contains(out, "ops") || !strings.Contains(out, "webhook") {
		t.Errorf("notifiers list:\n%s", out)
	}
	st := runCLI(t, s, nil, "status").must(t).stdout
	for _, want := range []string{"status", "ok", "targets", "schedules"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}

	// Exit codes: 3 not found, 4 refused (409, 422), 2 usage.
	if r := runCLI(t, s, nil, "targets", "get", "999"); r.code != exitNotFound {
		t.Errorf("targets get 999: exit %d %v, want 3", r.code, r.err)
	}
	if r := runCLI(t, s, nil, "targets", "delete", "echo"); r.code != exitRefused || !strings.Contains(r.err.Error(), "409") {
		t.Errorf("delete a target in use: exit %d %v, want 4 and the 409", r.code, r.err)
	}
	r := runCLI(t, s, nil, "targets", "create", "--name", "bad", "--url", "ftp://example.com/")
	if r.code != exitRefused || !strings.Contains(r.err.Error(), "url") || !strings.Contains(r.err.Error(), "422") {
		t.Errorf("a 422: exit %d %v, want 4 naming the field url", r.code, r.err)
	}
	for _, args := range [][]string{{"targets", "get"}, {"targets", "bogus"}, {"targets", "list", "--bogus"}, {"runs", "list", "-o", "xml"}} {
		if r := runCLI(t, s, nil, args...); r.code != exitUsage {
			t.Errorf("%q: exit %d %v, want 2", args, r.code, r.err)
		}
	}
	runCLI(t, s, nil, "schedules", "delete", "hourly").must(t)
	if out := runCLI(t, s, nil, "targets", "delete", "1").must(t).stdout; !strings.Contains(out, "deleted target 1") {
		t.Errorf("targets delete printed %q", out)
	}
}

// TestCLI_ReadOnlyToken: a read-only token lists but is refused a create;
// no token at all is refused a list.
func TestCLI_ReadOnlyToken(t *testing.T) {
	t.Parallel()
	full, read := strings.Repeat("f", 32), strings.Repeat("r", 32)
	s := startServer(t, filepath.Join(t.TempDir(), "ro.db"), map[string]string{"API_TOKEN": full, "API_READ_TOKEN": read})
	runCLI(t, s, map[string]string{"APICRON_TOKEN": read}, "targets", "list").must(t)
	r := runCLI(t, s, map[string]string{"APICRON_TOKEN": read}, "targets", "create", "--name", "x", "--url", "http://127.0.0.1:9/")
	if r.code != exitError || !strings.Contains(r.err.Error(), "403") {
		t.Errorf("create with a read-only token: exit %d %v, want 1 and the 403", r.code, r.err)
	}
	if r := runCLI(t, s, nil, "targets", "list"); r.code != exitError || !strings.Contains(r.err.Error(), "401") {
		t.Errorf("list without a token: exit %d %v, want the 401", r.code, r.err)
	}
	runCLI(t, s, nil, "--token", full, "targets", "create", "--name", "x", "--url", "http://127.0.0.1:9/").must(t)
}

// TestCLI_Completion: cobra's completion scripts.
func TestCLI_Completion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := runCLI(t, nil, nil, "completion", sh).must(t).stdout; !strings.Contains(out, "apicron") {
			t.Errorf("completion %s printed no script", sh)
		}
	}
}

// lockedBuffer is a bytes.Buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCLI_RunsTail: tail prints the run there before it, then a new run
// of its schedule once it finishes, and not a run of another schedule; it
// stops after --count runs, and at once when its context ends (Ctrl-C).
func TestCLI_RunsTail(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "tail.db"), nil)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(echo.Close)
	runCLI(t, s, nil, "targets", "create", "--name", "echo", "--url", echo.URL).must(t)
	for _, name := range []string{"watched", "other"} {
		runCLI(t, s, nil, "schedules", "create", "--name", name, "--target-id", "1", "--type", "CRON", "--cron", "0 0 1 1 *").must(t)
	}
	trigger := func(name string) int64 {
		var r struct {
			RunID int64 `json:"run_id"`
		}
		out := runCLI(t, s, nil, "schedules", "trigger", name, "-o", "json").must(t).stdout
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r.RunID
	}
	before := trigger("watched")
	waitFor(t, 10*time.Second, "the first run", func() bool {
		return strings.Contains(runCLI(t, s, nil, "runs", "get", fmt.Sprint(before)).stdout, "SUCCESS")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"runs", "tail", "--schedule", "watched", "--interval", "50ms", "--count", "1", "--server", s.url},
			func(string) string { return "" }, "", &out, io.Discard)
	}()
	row := func(id int64) *regexp.Regexp { return regexp.MustCompile(`(?m)^` + fmt.Sprint(id) + ` +1 +SUCCESS`) }
	waitFor(t, 10*time.Second, "tail to print the run before it", func() bool { return row(before).MatchString(out.String()) })
	other := trigger("other")
	next := trigger("watched")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tail: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("tail did not stop after one new run:\n%s", out.String())
	}
	text := out.String()
	if !row(next).MatchString(text) || strings.Count(text, "SCHEDULED_AT") != 1 {
		t.Errorf("tail printed:\n%s\nwant the header once, run %d and run %d", text, before, next)
	}
	if regexp.MustCompile(`(?m)^` + fmt.Sprint(other) + ` `).MatchString(text) {
		t.Errorf("tail --schedule watched printed run %d of another schedule:\n%s", other, text)
	}

	// Ctrl-C: the context ends, tail returns nil.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		done <- run(ctx2, []string{"runs", "tail", "--interval", "50ms", "--server", s.url}, func(string) string { return "" }, "", io.Discard, io.Discard)
	}()
	cancel2()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not stop on Ctrl-C")
	}
}
