package config

import (
	"strings"
	"testing"
)

// Settings lists every setting with where it came from, and masks the
// secrets: the tokens, SECRET_KEY and the password in DATABASE_URL.
func TestConfig_Settings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWriteDotenv(t, dir, "APP_TITLE=from-dotenv\n")
	c := mustLoad(t, []string{"--port", "8123"}, env(map[string]string{
		"DATABASE_URL": "postgres://app:hunter2@db:5432/apicron",
		"API_TOKEN":    "full-secret-token", "API_READ_TOKEN": "read-secret-token",
		"SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}), dir)
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Name] = s
		for _, secret := range []string{"hunter2", "full-secret-token", "read-secret-token", "MDEyMzQ1"} {
			if strings.Contains(s.Value, secret) {
				t.Errorf("%s shows a secret: %q", s.Name, s.Value)
			}
		}
	}
	if len(got) != len(settings) {
		t.Errorf("%d settings listed, want %d", len(got), len(settings))
	}
	for name, want := range map[string]string{"PORT": "flag", "DATABASE_URL": "env", "APP_TITLE": ".env", "LOG_LEVEL": "default"} {
		if got[name].Source != want {
			t.Errorf("%s source = %q, want %q", name, got[name].Source, want)
		}
	}
	if v := got["DATABASE_URL"].Value; !strings.Contains(v, "app:") || !strings.Contains(v, "@db:5432") {
		t.Errorf("DATABASE_URL = %q, want it with the password masked", v)
	}
	if got["API_TOKEN"].Value != "********" || got["SECRET_KEY"].Value != "********" || got["PORT"].Value != "8123" {
		t.Errorf("API_TOKEN %q, SECRET_KEY %q, PORT %q", got["API_TOKEN"].Value, got["SECRET_KEY"].Value, got["PORT"].Value)
	}
}
