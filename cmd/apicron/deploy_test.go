package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeploy_SystemdUnit checks deploy/systemd/apicron.service with
// systemd-analyze where it is installed: verify finds nothing to say about
// it (with ExecStart pointed at a binary built here, since verify wants the
// command to exist), and the offline security review rates its exposure at
// most 2.0 of 10. make deploy-check runs it.
func TestDeploy_SystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; skipping the check of deploy/systemd/apicron.service")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "apicron.service"))
	if err != nil {
		t.Fatal(err)
	}
	const execStart = "ExecStart=/usr/local/bin/apicron serve"
	if !strings.Contains(string(unit), "\n"+execStart+"\n") {
		t.Fatalf("the unit lacks the line %s", execStart)
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "apicron.service")
	text := strings.Replace(string(unit), execStart, "ExecStart="+bin+" serve", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// --threshold is on a scale of 100: 20 is an exposure of 2.0.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	}
	if i := strings.Index(string(out), "Overall exposure level"); i >= 0 {
		t.Log(strings.TrimSpace(string(out[i:])))
	}
}
