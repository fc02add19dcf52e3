package config

// Fixtures shared by the config tests.

import (
	"os"
	"path/filepath"
	"testing"
)

// env returns a getenv func over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustWriteDotenv writes text to dir/.env.
func mustWriteDotenv(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustLoad calls Load and fails the test on error.
func mustLoad(t *testing.T, args []string, getenv func(string) string, dir string) Config {
	t.Helper()
	c, err := Load(args, getenv, dir)
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return c
}
