package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

func TestLoad_Defaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, nil, nil, t.TempDir())
	want := Config{
		DatabaseURL:       "sqlite:///./apicron.db",
		Database:          Database{Driver: DriverSQLite, DSN: "./apicron.db"},
		AutoMigrate:       true,
		TimezoneName:      "UTC",
		Timezone:          time.UTC,
		MaxConcurrentJobs: 100,
		DefaultTimeout:    30 * time.Second,
		MaxRetries:        0,
		AppTitle:          "apicron",
		AppVersion:        "",
		LogLevel:          slog.LevelInfo,
		LogFormat:         LogFormatText,
		Host:              "127.0.0.1",
		Port:              8000,
		NodeID:            c.NodeID, // checked below
		ShutdownGrace:     30 * time.Second,
		LeaseTTL:          5 * time.Second,
		RunRetention:      720 * time.Hour,
		SQLiteCacheMiB:    64,
		ServiceName:       "apicron",
		TracesSampler:     SamplerParentBasedAlwaysOn,
		TracesSamplerArg:  1,
		Sources:           c.Sources, // checked below
	}
	for _, s := range settings {
		if c.Sources[s.env] != "default" {
			t.Errorf("source of %s = %q, want default", s.env, c.Sources[s.env])
		}
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() =\n%#v\nwant\n%#v", c, want)
	}
	if host, _ := os.Hostname(); c.NodeID != fmt.Sprintf("%s-%d", host, os.Getpid()) {
		t.Errorf("NodeID = %q, want <hostname>-<pid>", c.NodeID)
	}
	if got := c.Addr(); got != "127.0.0.1:8000" {
		t.Errorf("Addr() = %q", got)
	}
}

// layerValues holds, for every setting, three valid values (for the flag, the
// environment and the .env file) and what the setting's get prints for each.
var layerValues = map[string][3][2]string{
	"DATABASE_URL":            {{"sqlite:///flag.db", "sqlite:///flag.db"}, {"sqlite:///env.db", "sqlite:///env.db"}, {"dotenv.db", "dotenv.db"}},
	"SCHEDULER_TIMEZONE":      {{"Europe/Paris", "Europe/Paris"}, {"Asia/Tokyo", "Asia/Tokyo"}, {"America/New_York", "America/New_York"}},
	"MAX_CONCURRENT_JOBS":     {{"1", "1"}, {"2", "2"}, {"3", "3"}},
	"HOST_MAX_CONCURRENCY":    {{"4", "4"}, {"5", "5"}, {"6", "6"}},
	"DEFAULT_TIMEOUT":         {{"1", "1s"}, {"0.5", "500ms"}, {"2m", "2m"}},
	"MAX_RETRIES":             {{"1", "1"}, {"2", "2"}, {"3", "3"}},
	"APP_TITLE":               {{"Flag title", "Flag title"}, {"Env title", "Env title"}, {"Dotenv title", "Dotenv title"}},
	"APP_VERSION":             {{"1.0.0", "1.0.0"}, {"2.0.0", "2.0.0"}, {"3.0.0", "3.0.0"}},
	"LOG_LEVEL":               {{"debug", "DEBUG"}, {"WARNING", "WARN"}, {"Error", "ERROR"}},
	"LOG_FORMAT":              {{"json", "json"}, {"JSON", "json"}, {"Json", "json"}},
	"ACCESS_LOG":              {{"true", "true"}, {"false", "false"}, {"1", "true"}},
	"AUTO_MIGRATE":            {{"true", "true"}, {"false", "false"}, {"0", "false"}},
	"HOST":                    {{"0.0.0.0", "0.0.0.0"}, {"[::1]", "::1"}, {"localhost", "localhost"}},
	"PORT":                    {{"0", "0"}, {"65535", "65535"}, {"8080", "8080"}},
	"NODE_ID":                 {{"flag-node", "flag-node"}, {"env-node", "env-node"}, {"dotenv-node", "dotenv-node"}},
	"SHUTDOWN_GRACE":          {{"0", "0s"}, {"10", "10s"}, {"1m", "1m"}},
	"LEASE_TTL":               {{"1", "1s"}, {"250ms", "250ms"}, {"1.5", "1.5s"}},
	"RUN_RETENTION":           {{"0", "0s"}, {"7d", "7d"}, {"36h", "1d12h"}},
	"RUN_KEEP_PER_SCHEDULE":   {{"0", "0"}, {"1000000", "1000000"}, {" 50 ", "50"}},
	"METRICS_SCHEDULE_LABELS": {{"0", "0"}, {"10000", "10000"}, {" 20 ", "20"}},
	"SQLITE_CACHE_MB":         {{"1", "1"}, {"65536", "65536"}, {" 256 ", "256"}},
	"API_TOKEN": {
		{"flag-token-0123456789,flag-token-abcdefghij,flag-token-ABCDEFGHIJ", "********,********,********"},
		{"env-token-0123456789, env-token-abcdefghij", "********,********"},
		{"dotenv-token-0123456789", "********"},
	},
	"API_READ_TOKEN": {
		{"flag-token-0123456789,flag-token-abcdefghij,flag-token-ABCDEFGHIJ", "********,********,********"},
		{"env-token-0123456789, env-token-abcdefghij", "********,********"},
		{"dotenv-token-0123456789", "********"},
	},
	"INSECURE_NO_AUTH":      {{"true", "true"}, {"false", "false"}, {"T", "true"}},
	"ALLOWED_HOSTS":         {{"apicron.example.com", "apicron.example.com"}, {" *.example.com , 10.0.0.0/8,[::1]", "*.example.com,10.0.0.0/8,[::1]"}, {"*", "*"}},
	"OUTBOUND_DENY_PRIVATE": {{"true", "true"}, {"0", "false"}, {"1", "true"}},
	"OUTBOUND_ALLOW_CIDRS":  {{"10.0.0.0/8", "10.0.0.0/8"}, {"192.0.2.7, fd00::/8", "192.0.2.7/32,fd00::/8"}, {"172.16.9.9/12", "172.16.0.0/12"}},
	"OUTBOUND_DENY_CIDRS":   {{"10.0.0.0/8", "10.0.0.0/8"}, {"192.0.2.7, fd00::/8", "192.0.2.7/32,fd00::/8"}, {"172.16.9.9/12", "172.16.0.0/12"}},
	"SECRET_KEY": {
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "********"},
		{"+//++//++//++//++//++//++//++//++//++//++/8=", "********"},
		{"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "********"},
	},
	"MAX_API_CONNECTIONS": {{"1", "1"}, {"10000000", "10000000"}, {" 500 ", "500"}},
	"OTEL_EXPORTER_OTLP_ENDPOINT": {
		{"http://localhost:4318", "http://localhost:4318"},
		{"https://otel:s3cret@collector.example.com/otlp", "https://otel:xxxxx@collector.example.com/otlp"},
		{"http://[::1]:4318/", "http://[::1]:4318/"},
	},
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": {
		{"http://localhost:4318/v1/traces", "http://localhost:4318/v1/traces"},
		{"https://collector.example.com/traces", "https://collector.example.com/traces"},
		{"http://127.0.0.1:4318/custom", "http://127.0.0.1:4318/custom"},
	},
	"OTEL_EXPORTER_OTLP_HEADERS": {
		{"Authorization=Bearer%20abc", "Authorization=********"},
		{"x-b=2, x-a=1", "x-a=********,x-b=********"},
		{"api-key=k%3D1", "api-key=********"},
	},
	"OTEL_SERVICE_NAME":       {{"cron-eu", "cron-eu"}, {"apicron prod", "apicron prod"}, {"x", "x"}},
	"OTEL_TRACES_SAMPLER":     {{"always_on", "always_on"}, {"TraceIDRatio", "traceidratio"}, {"parentbased_always_off", "parentbased_always_off"}},
	"OTEL_TRACES_SAMPLER_ARG": {{"0", "0"}, {"0.25", "0.25"}, {"1.0", "1"}},
}

func TestLoad_Precedence(t *testing.T) {
	t.Parallel()
	if len(layerValues) != len(settings) {
		t.Fatalf("layerValues has %d settings, want all %d", len(layerValues), len(settings))
	}
	for _, s := range settings {
		vals, ok := layerValues[s.env]
		if !ok {
			t.Fatalf("layerValues lacks %s", s.env)
		}
		flagArg := "--" + s.flag + "=" + vals[0][0]
		dotenvLine := s.env + "=" + `"` + vals[2][0] + `"` + "\n"
		var defaultCfg Config
		if err := s.set(&defaultCfg, s.defaultValue()); err != nil {
			t.Fatalf("%s: default %q: %v", s.env, s.defaultValue(), err)
		}
		tests := []struct {
			name   string
			args   []string
			env    map[string]string
			dotenv string
			want   string
		}{
			{"flag over env and dotenv", []string{flagArg}, map[string]string{s.env: vals[1][0]}, dotenvLine, vals[0][1]},
			{"env over dotenv", nil, map[string]string{s.env: vals[1][0]}, dotenvLine, vals[1][1]},
			{"dotenv over default", nil, nil, dotenvLine, vals[2][1]},
			{"default", nil, nil, "", s.get(&defaultCfg)},
			{"empty env is unset", nil, map[string]string{s.env: ""}, dotenvLine, vals[2][1]},
			{"empty flag is unset", []string{"--" + s.flag + "="}, map[string]string{s.env: vals[1][0]}, "", vals[1][1]},
			{"flag with separate value", []string{"--" + s.flag, vals[0][0]}, nil, "", vals[0][1]},
		}
		for _, tt := range tests {
			t.Run(s.env+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				if tt.dotenv != "" {
					mustWriteDotenv(t, dir, tt.dotenv)
				}
				c := mustLoad(t, tt.args, env(tt.env), dir)
				if got := s.get(&c); got != tt.want && (s.env != "NODE_ID" || tt.name != "default") {
					t.Errorf("%s = %q, want %q", s.env, got, tt.want)
				}
			})
		}
	}
}

func TestLoad_Values(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env   string
		value string
		check func(Config) bool
	}{
		{"DEFAULT_TIMEOUT", "30", func(c Config) bool { return c.DefaultTimeout == 30*time.Second }},
		{"DEFAULT_TIMEOUT", "0.5", func(c Config) bool { return c.DefaultTimeout == 500*time.Millisecond }},
		{"DEFAULT_TIMEOUT", "30s", func(c Config) bool { return c.DefaultTimeout == 30*time.Second }},
		{"DEFAULT_TIMEOUT", "3600", func(c Config) bool { return c.DefaultTimeout == time.Hour }},
		{"SHUTDOWN_GRACE", "1m30s", func(c Config) bool { return c.ShutdownGrace == 90*time.Second }},
		{"RUN_RETENTION", "30d", func(c Config) bool { return c.RunRetention == 720*time.Hour }},
		{"RUN_RETENTION", "1.5d", func(c Config) bool { return c.RunRetention == 36*time.Hour }},
		{"RUN_RETENTION", "1d12h", func(c Config) bool { return c.RunRetention == 36*time.Hour }},
		{"RUN_RETENTION", "0", func(c Config) bool { return c.RunRetention == 0 }},
		{"RUN_KEEP_PER_SCHEDULE", "0", func(c Config) bool { return c.RunKeepPerSchedule == 0 }},
		{"RUN_KEEP_PER_SCHEDULE", "1", func(c Config) bool { return c.RunKeepPerSchedule == 1 }},
		{"RUN_KEEP_PER_SCHEDULE", "500", func(c Config) bool { return c.RunKeepPerSchedule == 500 }},
		{"RUN_KEEP_PER_SCHEDULE", "1000000", func(c Config) bool { return c.RunKeepPerSchedule == 1_000_000 }},
		{"LOG_LEVEL", "warn", func(c Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"LOG_LEVEL", "Warning", func(c Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"LOG_LEVEL", "DEBUG", func(c Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"SCHEDULER_TIMEZONE", "Europe/Paris", func(c Config) bool {
			return c.TimezoneName == "Europe/Paris" && c.Timezone.String() == "Europe/Paris"
		}},
		{"HOST", "::", func(c Config) bool { return c.Addr() == "[::]:8000" }},
		{"PORT", " 9000 ", func(c Config) bool { return c.Port == 9000 }},
		{"MAX_CONCURRENT_JOBS", "100000", func(c Config) bool { return c.MaxConcurrentJobs == 100000 }},
		{"HOST_MAX_CONCURRENCY", "0", func(c Config) bool { return c.HostMaxConcurrency == 0 }},
		{"MAX_RETRIES", "10", func(c Config) bool { return c.MaxRetries == 10 }},
		{"MAX_API_CONNECTIONS", "0", func(c Config) bool { return c.MaxAPIConnections == 0 }},
		{"MAX_API_CONNECTIONS", "2048", func(c Config) bool { return c.MaxAPIConnections == 2048 }},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, nil, env(map[string]string{tt.env: tt.value}), "")
			if !tt.check(c) {
				t.Errorf("%s=%q gave %v", tt.env, tt.value, c)
			}
		})
	}
}

func TestLoad_Invalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env, value string
		want       string // in the message, besides the name and value
	}{
		{"DATABASE_URL", "mysql://u@h/db", "unsupported scheme"},
		{"DATABASE_URL", "sqlite://:memory:", "in-memory"},
		{"DATABASE_URL", "apicron", "must be"},
		{"SCHEDULER_TIMEZONE", "Mars/Olympus", "time zone"},
		{"MAX_CONCURRENT_JOBS", "abc", "integer from 1 to 100000"},
		{"MAX_CONCURRENT_JOBS", "0", "integer from 1 to 100000"},
		{"MAX_CONCURRENT_JOBS", "100001", "integer from 1 to 100000"},
		{"MAX_CONCURRENT_JOBS", "1.5", "integer"},
		{"HOST_MAX_CONCURRENCY", "-1", "integer from 0 to 100000"},
		{"HOST_MAX_CONCURRENCY", "100001", "integer from 0 to 100000"},
		{"DEFAULT_TIMEOUT", "0", "more than 0"},
		{"DEFAULT_TIMEOUT", "-5s", "more than 0"},
		{"DEFAULT_TIMEOUT", "3601", "at most 1h"},
		{"DEFAULT_TIMEOUT", "soon", "seconds"},
		{"DEFAULT_TIMEOUT", "1e3", "seconds"},
		{"DEFAULT_TIMEOUT", "Inf", "seconds"},
		{"MAX_RETRIES", "-1", "from 0 to 10"},
		{"MAX_RETRIES", "11", "from 0 to 10"},
		{"LOG_LEVEL", "TRACE", "DEBUG, INFO, WARNING or ERROR"},
		{"LOG_FORMAT", "xml", "text or json"},
		{"HOST", "localhost:8000", "without a port"},
		{"HOST", "a b", "without a port"},
		{"PORT", "65536", "from 0 to 65535"},
		{"PORT", "-1", "from 0 to 65535"},
		{"PORT", "http", "from 0 to 65535"},
		{"NODE_ID", "node one", "without spaces"},
		{"NODE_ID", strings.Repeat("n", 201), "at most 200"},
		{"SHUTDOWN_GRACE", "-1s", "not negative"},
		{"SHUTDOWN_GRACE", "forever", "seconds"},
		{"LEASE_TTL", "0", "more than 0"},
		{"LEASE_TTL", "2h", "at most 1h"},
		{"RUN_RETENTION", "30", "duration such as 30d, 12h or 1d12h"},
		{"RUN_RETENTION", "-1h", "duration such as 30d, 12h or 1d12h"},
		{"RUN_RETENTION", "1d-1h", "duration such as 30d, 12h or 1d12h"},
		{"RUN_RETENTION", "999999999d", "duration such as 30d, 12h or 1d12h"},
		{"RUN_KEEP_PER_SCHEDULE", "-1", "integer from 0 to 1000000"},
		{"RUN_KEEP_PER_SCHEDULE", "1000001", "integer from 0 to 1000000"},
		{"RUN_KEEP_PER_SCHEDULE", "ten", "integer from 0 to 1000000"},
		{"RUN_KEEP_PER_SCHEDULE", "1.5", "integer from 0 to 1000000"},
		{"RUN_KEEP_PER_SCHEDULE", "1e3", "integer from 0 to 1000000"},
		{"METRICS_SCHEDULE_LABELS", "-1", "integer from 0 to 10000"},
		{"METRICS_SCHEDULE_LABELS", "10001", "integer from 0 to 10000"},
		{"METRICS_SCHEDULE_LABELS", "many", "integer from 0 to 10000"},
		{"SQLITE_CACHE_MB", "0", "integer from 1 to 65536"},
		{"SQLITE_CACHE_MB", "65537", "integer from 1 to 65536"},
		{"SQLITE_CACHE_MB", "64MiB", "integer from 1 to 65536"},
		{"API_TOKEN", "tiny-tok", "at least 16 characters"},
		{"API_TOKEN", "long-enough-token-0123456789,tiny-tok", "token 2 is too short"},
		{"API_TOKEN", "long enough token 0123456789", "printable ASCII"},
		{"API_TOKEN", " , ", "at least one token"},
		{"API_READ_TOKEN", "tiny-tok", "at least 16 characters"},
		{"INSECURE_NO_AUTH", "maybe", "true or false"},
		{"AUTO_MIGRATE", "yes", "true or false"},
		{"ACCESS_LOG", "on", "true or false"},
		{"ALLOWED_HOSTS", "localhost:8000", `"localhost:8000" has a port`},
		{"ALLOWED_HOSTS", "localhost,[::1]:8000", `"[::1]:8000" has a port`},
		{"ALLOWED_HOSTS", "http://apicron.example.com", "is a URL"},
		{"ALLOWED_HOSTS", "10.0.0.0/33", "not a CIDR prefix"},
		{"ALLOWED_HOSTS", "::ffff:0:0/80", "IPv4-mapped"},
		{"ALLOWED_HOSTS", "fe80::1%eth0", "IPv6 zone"},
		{"ALLOWED_HOSTS", "a.*.example.com", "not a host name"},
		{"ALLOWED_HOSTS", "*.", "not a host name"},
		{"ALLOWED_HOSTS", "exa mple.com", "not a host name"},
		{"ALLOWED_HOSTS", ",", "at least one host name"},
		{"OUTBOUND_DENY_PRIVATE", "yes please", "true or false"},
		{"OUTBOUND_ALLOW_CIDRS", "10.0.0.0/33", "not a CIDR prefix"},
		{"OUTBOUND_ALLOW_CIDRS", "10.0.0.0/8,example.com", `"example.com" is not a CIDR prefix`},
		{"OUTBOUND_DENY_CIDRS", "fe80::1%eth0", "not a CIDR prefix"},
		{"OUTBOUND_DENY_CIDRS", "::ffff:0:0/80", "IPv4-mapped"},
		{"SECRET_KEY", "not-a-key", "openssl rand -base64 32"},
		{"MAX_API_CONNECTIONS", "-1", "integer from 0 to 10000000"},
		{"MAX_API_CONNECTIONS", "many", "integer from 0 to 10000000"},
		{"SECRET_KEY", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==", "must be 32 bytes as base64 or 64 hex digits"},
		{"SECRET_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "must be 32 bytes"},
		{"SECRET_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", "must be 32 bytes"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "http or https URL"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://collector:4317", "http or https URL"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/?x=1", "without a query"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http:///v1/traces", "http or https URL"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "tenantonly", "name=value pairs"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "bad name=secretvalue", "name=value pairs"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "x-key=secret%zzvalue", "must be URL-encoded"},
		{"OTEL_SERVICE_NAME", "a\tb", "without control characters"},
		{"OTEL_TRACES_SAMPLER", "jaeger_remote", "must be one of always_on, always_off, traceidratio"},
		{"OTEL_TRACES_SAMPLER_ARG", "1.5", "from 0 to 1"},
		{"OTEL_TRACES_SAMPLER_ARG", "half", "from 0 to 1"},
		{"OTEL_TRACES_SAMPLER_ARG", "NaN", "from 0 to 1"},
	}
	names := make(map[string]bool)
	for _, tt := range tests {
		names[tt.env] = true
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			_, err := Load(nil, env(map[string]string{tt.env: tt.value}), "")
			if err == nil {
				t.Fatalf("Load with %s=%q: no error", tt.env, tt.value)
			}
			msg := err.Error()
			prefix := fmt.Sprintf("invalid %s %q: ", tt.env, tt.value)
			if strings.HasSuffix(tt.env, "TOKEN") || tt.env == "SECRET_KEY" || tt.env == "OTEL_EXPORTER_OTLP_HEADERS" {
				prefix = fmt.Sprintf("invalid %s (value hidden): ", tt.env)
				for _, part := range strings.Split(tt.value, ",") {
					if p := strings.TrimSpace(part); len(p) > 2 && strings.Contains(msg, p) {
						t.Errorf("error %q shows the token %q", msg, p)
					}
				}
			}
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) || !strings.HasSuffix(msg, "(from environment)") {
				t.Errorf("error %q, want %q...%q...(from environment)", msg, prefix, tt.want)
			}
		})
	}
	// Every setting that can be invalid has a case.
	for _, s := range settings {
		if s.env != "APP_TITLE" && s.env != "APP_VERSION" && !names[s.env] {
			t.Errorf("no invalid case for %s", s.env)
		}
	}
}

// TestLoad_LimitsAreTheRoots holds the settings that bound what a target
// or a schedule may also set to the root's constants: the largest value is
// accepted, one more is refused, and the error and the help quote it.
func TestLoad_LimitsAreTheRoots(t *testing.T) {
	t.Parallel()
	var usage bytes.Buffer
	Usage(&usage)
	tests := []struct {
		env          string
		largest      string // the largest valid value
		overLargest  string
		want         string // in the error and in the help
		wantHelpText string
	}{
		{"MAX_RETRIES", strconv.Itoa(apicron.MaxRetriesLimit), strconv.Itoa(apicron.MaxRetriesLimit + 1),
			fmt.Sprintf("from 0 to %d", apicron.MaxRetriesLimit), fmt.Sprintf("0 to %d.", apicron.MaxRetriesLimit)},
		{"DEFAULT_TIMEOUT", strconv.Itoa(apicron.MaxTimeoutSeconds), strconv.Itoa(apicron.MaxTimeoutSeconds) + ".001",
			"at most 1h", "at most 1h."},
		{"RUN_KEEP_PER_SCHEDULE", strconv.Itoa(apicron.MaxKeepRuns), strconv.Itoa(apicron.MaxKeepRuns + 1),
			fmt.Sprintf("from 0 to %d", apicron.MaxKeepRuns), fmt.Sprintf("0 to %d;", apicron.MaxKeepRuns)},
		{"METRICS_SCHEDULE_LABELS", strconv.Itoa(apicron.MaxScheduleLabels), strconv.Itoa(apicron.MaxScheduleLabels + 1),
			fmt.Sprintf("from 0 to %d", apicron.MaxScheduleLabels), fmt.Sprintf("0 to %d;", apicron.MaxScheduleLabels)},
		{"MAX_API_CONNECTIONS", strconv.Itoa(MaxAPIConnectionsLimit), strconv.Itoa(MaxAPIConnectionsLimit + 1),
			fmt.Sprintf("from 0 to %d", MaxAPIConnectionsLimit), fmt.Sprintf("1 to %d;", MaxAPIConnectionsLimit)},
	}
	if apicron.MaxTimeoutSeconds != 3600 {
		t.Fatalf("apicron.MaxTimeoutSeconds is %d: update the DEFAULT_TIMEOUT case's text", apicron.MaxTimeoutSeconds)
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			mustLoad(t, nil, env(map[string]string{tt.env: tt.largest}), "")
			_, err := Load(nil, env(map[string]string{tt.env: tt.overLargest}), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s=%s: %v, want refused %q", tt.env, tt.overLargest, err, tt.want)
			}
			for _, s := range settings {
				if s.env == tt.env && !strings.Contains(s.help, tt.wantHelpText) {
					t.Errorf("help of %s is %q, want %q", tt.env, s.help, tt.wantHelpText)
				}
			}
		})
	}
}

func TestLoad_InvalidSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWriteDotenv(t, dir, "# settings\nMAX_RETRIES=99\n")
	_, err := Load([]string{"--port=x"}, env(map[string]string{"LOG_LEVEL": "loud"}), dir)
	if err == nil {
		t.Fatal("no error")
	}
	// All three are reported at once, each with where it came from.
	for _, want := range []string{
		`invalid PORT "x": must be an integer from 0 to 65535 (from flag --port)`,
		`invalid LOG_LEVEL "loud": must be DEBUG, INFO, WARNING or ERROR (from environment)`,
		`invalid MAX_RETRIES "99": must be an integer from 0 to 10 (from ` + filepath.Join(dir, ".env") + ` line 2)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%s\nlacks\n%s", err, want)
		}
	}
}

func TestLoad_InvalidDatabaseURLHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := Load(nil, env(map[string]string{"DATABASE_URL": "mysql://user:s3cret@db/app"}), "")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("error %q: want DATABASE_URL named and the password hidden", err)
	}
	// A malformed postgres URL: url.Parse's own error would quote it whole.
	_, err = Load(nil, env(map[string]string{"DATABASE_URL": "postgres://user:s3cret@db:port/app"}), "")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestLoad_Args(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantArgs []string
		wantPort int
		wantHost string
	}{
		{"none", nil, nil, 8000, "127.0.0.1"},
		{"subcommand", []string{"version"}, []string{"version"}, 8000, "127.0.0.1"},
		{"flags before", []string{"--port", "9", "-host=::1", "version"}, []string{"version"}, 9, "::1"},
		{"flags after", []string{"migrate", "up", "--port=9", "--host", "0.0.0.0"}, []string{"migrate", "up"}, 9, "0.0.0.0"},
		{"double dash ends flags", []string{"--port=9", "--", "run", "--host=x"}, []string{"run", "--host=x"}, 9, "127.0.0.1"},
		{"single dash is an argument", []string{"-"}, []string{"-"}, 8000, "127.0.0.1"},
		{"last flag wins", []string{"--port=1", "--port=2"}, nil, 2, "127.0.0.1"},
		{"--version is the command version", []string{"--version"}, []string{"version"}, 8000, "127.0.0.1"},
		{"-v is the command version", []string{"--port", "9", "-v"}, []string{"version"}, 9, "127.0.0.1"},
		{"--version wins", []string{"serve", "-version"}, []string{"version", "serve"}, 8000, "127.0.0.1"},
		{"-v as a flag's value", []string{"--app-title", "-v"}, nil, 8000, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tt.args, nil, "")
			if !reflect.DeepEqual(c.Args, tt.wantArgs) || c.Port != tt.wantPort || c.Host != tt.wantHost {
				t.Errorf("Args %q Port %d Host %q, want %q %d %q", c.Args, c.Port, c.Host, tt.wantArgs, tt.wantPort, tt.wantHost)
			}
		})
	}
}

func TestLoad_FlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantHelp bool
		want     string
	}{
		{[]string{"--help"}, true, ""},
		{[]string{"-h"}, true, ""},
		{[]string{"-help"}, true, ""},
		{[]string{"version", "--help"}, true, ""},
		{[]string{"help"}, true, ""},
		{[]string{"--port=1", "help"}, true, ""},
		{[]string{"help", "--bogus"}, true, ""},
		{[]string{"--bogus"}, false, "flag provided but not defined: -bogus"},
		{[]string{"--port"}, false, "flag needs an argument: -port"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			// A bad environment must not hide --help.
			_, err := Load(tt.args, env(map[string]string{"PORT": "x"}), "")
			if got := errors.Is(err, flag.ErrHelp); got != tt.wantHelp {
				t.Fatalf("Load(%q) = %v, want ErrHelp %v", tt.args, err, tt.wantHelp)
			}
			if !tt.wantHelp && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Load(%q) = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestLoad_Dotenv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWriteDotenv(t, dir, `# the seed's .env
DATABASE_URL=sqlite+aiosqlite:///./scheduler.db
export SCHEDULER_TIMEZONE='Europe/Paris'
MAX_CONCURRENT_JOBS = 50   # inline comment
DEFAULT_TIMEOUT="12.5"
APP_TITLE="API Scheduler"
APP_VERSION=1.0.0
LOG_LEVEL=WARNING
UNRELATED=ignored
`)
	c := mustLoad(t, nil, nil, dir)
	if c.Database != (Database{Driver: DriverSQLite, DSN: "./scheduler.db"}) ||
		c.TimezoneName != "Europe/Paris" || c.MaxConcurrentJobs != 50 ||
		c.DefaultTimeout != 12500*time.Millisecond || c.AppTitle != "API Scheduler" ||
		c.AppVersion != "1.0.0" || c.LogLevel != slog.LevelWarn {
		t.Errorf("Load = %v", c)
	}
}

func TestLoad_DotenvErrors(t *testing.T) {
	t.Parallel()
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		mustWriteDotenv(t, dir, "PORT=1\nnot a setting\n")
		_, err := Load(nil, nil, dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ".env")) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Load = %v, want the file and line 2 named", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		mustLoad(t, nil, nil, filepath.Join(t.TempDir(), "nowhere"))
	})
	t.Run("unreadable", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, ".env"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(nil, nil, dir); err == nil {
			t.Error("Load with .env a directory: no error")
		}
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	Usage(&b)
	out := b.String()
	for _, s := range settings {
		line := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(s.flag) + `, ` + s.env + ` \(default [^)]+\)$`)
		if !line.MatchString(out) {
			t.Errorf("usage lacks a line for --%s, %s with its default", s.flag, s.env)
		}
	}
	for _, want := range []string{
		"DATABASE_URL", "SCHEDULER_TIMEZONE", "MAX_CONCURRENT_JOBS", "DEFAULT_TIMEOUT", "MAX_RETRIES",
		"APP_TITLE", "APP_VERSION", "LOG_LEVEL", "LOG_FORMAT", "HOST", "PORT", "NODE_ID",
		"SHUTDOWN_GRACE", "LEASE_TTL", "RUN_RETENTION", "API_TOKEN", "API_READ_TOKEN", "INSECURE_NO_AUTH", "ALLOWED_HOSTS",
		"OUTBOUND_DENY_PRIVATE", "OUTBOUND_ALLOW_CIDRS", "OUTBOUND_DENY_CIDRS", "SECRET_KEY", "MAX_API_CONNECTIONS",
		`(default "sqlite:///./apicron.db")`, `(default "100")`, `(default <hostname>-<pid>)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestConfig_LogHidesPassword(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, []string{"--database-url", "postgresql+asyncpg://user:s3cret@localhost/scheduler"}, nil, "")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", c)
	for name, out := range map[string]string{
		"String":   c.String(),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", c),
		"Database": c.Database.String(),
		"slog":     logged.String(),
	} {
		if strings.Contains(out, "s3cret") || !strings.Contains(out, "user:xxxxx@localhost") {
			t.Errorf("%s: %s", name, out)
		}
	}
	var rec struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(logged.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Config) != len(settings) || rec.Config["max_concurrent_jobs"] != "100" {
		t.Errorf("logged config %v, want every setting", rec.Config)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{1500 * time.Millisecond, "1.5s"},
		{30 * time.Second, "30s"},
		{90 * time.Second, "1m30s"},
		{2 * time.Minute, "2m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{12 * time.Hour, "12h"},
		{24 * time.Hour, "1d"},
		{36 * time.Hour, "1d12h"},
		{720 * time.Hour, "30d"},
		{30*24*time.Hour + time.Second, "30d1s"},
		{24*time.Hour + 500*time.Millisecond, "1d500ms"},
	}
	for _, tt := range tests {
		got := FormatDuration(tt.d)
		if got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		// What is printed is accepted back, by every duration setting.
		for _, plain := range []bool{false, true} {
			if back, err := parseDuration(got, plain); err != nil || back != tt.d {
				t.Errorf("parseDuration(%q, %v) = %v, %v; want %v", got, plain, back, err, tt.d)
			}
		}
	}
}

// TestUsage_DurationsAsPrinted: --help shows each duration default as the
// start-up log prints it, and every setting takes back what it prints.
func TestUsage_DurationsAsPrinted(t *testing.T) {
	t.Parallel()
	defaults := mustLoad(t, nil, nil, "")
	for _, s := range settings {
		printed := s.get(&defaults)
		if strings.HasSuffix(s.env, "TIMEOUT") || strings.HasSuffix(s.env, "GRACE") || strings.HasSuffix(s.env, "TTL") || strings.HasSuffix(s.env, "RETENTION") {
			if s.def != printed {
				t.Errorf("%s: --help shows the default %q, the log %q", s.env, s.def, printed)
			}
		}
		if s.hidden || printed == "" {
			continue
		}
		var c Config
		if err := s.set(&c, printed); err != nil || s.get(&c) != printed {
			t.Errorf("%s: the printed %q does not load back: %v", s.env, printed, err)
		}
	}
	var b bytes.Buffer
	Usage(&b)
	if !strings.Contains(b.String(), "--run-retention, RUN_RETENTION (default \"30d\")") {
		t.Errorf("usage shows RUN_RETENTION's default otherwise:\n%s", b.String())
	}
	if strings.Contains(strings.ToLower(b.String()), "dashboard") {
		t.Errorf("usage mentions a dashboard apicron does not have")
	}
}

func TestConfig_NonDefault(t *testing.T) {
	t.Parallel()
	if got := mustLoad(t, nil, nil, "").NonDefault(); len(got) != 0 {
		t.Errorf("defaults: NonDefault() = %q, want none", got)
	}
	c := mustLoad(t, []string{"--max-retries=3", "--run-retention", "720h"}, env(map[string]string{
		"API_TOKEN": "0123456789abcdef0123", "PORT": "8000", "LOG_LEVEL": "debug",
	}), "")
	// RUN_RETENTION=720h is the default written otherwise; PORT=8000 is the default.
	if got, want := c.NonDefault(), []string{"MAX_RETRIES", "LOG_LEVEL", "API_TOKEN"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NonDefault() = %q, want %q", got, want)
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantName string
		wantRest []string
	}{
		{nil, "", nil},
		{[]string{"echo"}, "echo", []string{}},
		{[]string{"echo", "--port", "9100"}, "echo", []string{"--port", "9100"}},
		{[]string{"--port", "9100", "echo", "--host=::1"}, "echo", []string{"--port", "9100", "--host=::1"}},
		{[]string{"--insecure-no-auth", "serve"}, "serve", []string{"--insecure-no-auth"}},
		{[]string{"--port=1"}, "", []string{"--port=1"}},
		{[]string{"--", "echo", "x"}, "echo", []string{"--", "x"}},
	}
	for _, tt := range tests {
		name, rest := Command(tt.args)
		if name != tt.wantName || !reflect.DeepEqual(rest, tt.wantRest) && len(rest)+len(tt.wantRest) > 0 {
			t.Errorf("Command(%q) = %q %q, want %q %q", tt.args, name, rest, tt.wantName, tt.wantRest)
		}
		// Load finds the same command.
		if c, err := Load(tt.args, nil, ""); err == nil && (len(c.Args) > 0) != (name != "") || err == nil && name != "" && c.Args[0] != name {
			t.Errorf("Load(%q).Args = %q, Command says %q", tt.args, c.Args, name)
		}
	}
}
