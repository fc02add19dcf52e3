package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/apicron/apicron"
)

// setting is one row of the settings table: its names, default, help, and how
// it is parsed into and printed from a Config. Usage, Load, String and
// LogValue all walk this one table, so a setting cannot be half-added.
type setting struct {
	env, flag   string
	def         string        // default value, parsed like any other
	defaultFunc func() string // computes the default when set (then def is unused)
	defaultText string        // how Usage shows the default, if not %q of def
	help        string
	secret      bool // the value may hold a password: redact it in errors
	hidden      bool // the value is a secret: never show it, not even in errors
	boolean     bool // a flag that needs no value: --name means --name=true

	// set parses v (trimmed, never empty) into c; the error says what v must be.
	set func(c *Config, v string) error
	// get returns the value of c for logs, secrets masked.
	get func(c *Config) string
}

func (s setting) defaultValue() string {
	if s.defaultFunc != nil {
		return s.defaultFunc()
	}
	return s.def
}

const maxDuration = time.Duration(math.MaxInt64)

// maxDefaultTimeout is the longest DEFAULT_TIMEOUT: the longest timeout a
// target may set.
const maxDefaultTimeout = apicron.MaxTimeoutSeconds * time.Second

var settings = []setting{
	{
		env: "DATABASE_URL", flag: "database-url", def: "sqlite:///./apicron.db", secret: true,
		help: "Database: sqlite:///relative.db, sqlite:////absolute.db, a path ending\n" +
			"in .db, a file: URI, or postgres://user:password@host:5432/dbname.\n" +
			"SQLAlchemy forms (sqlite+aiosqlite://, postgresql+asyncpg://) work too.",
		set: func(c *Config, v string) error {
			db, err := ParseDatabaseURL(v)
			if err != nil {
				return err
			}
			c.DatabaseURL, c.Database = v, db
			return nil
		},
		get: func(c *Config) string { return RedactURL(c.DatabaseURL) },
	},
	{
		env: "AUTO_MIGRATE", flag: "auto-migrate", def: "true", boolean: true,
		help: "Apply pending database migrations when serve starts. With false, serve\n" +
			"refuses to start while any is pending: apply them with apicron migrate up.",
		set: boolSetting(func(c *Config) *bool { return &c.AutoMigrate }),
		get: func(c *Config) string { return strconv.FormatBool(c.AutoMigrate) },
	},
	{
		env: "SCHEDULER_TIMEZONE", flag: "scheduler-timezone", def: "UTC",
		help: "IANA time zone of schedules created without one, e.g. UTC or Europe/Paris.",
		set: func(c *Config, v string) error {
			loc, err := apicron.LoadZone("timezone", v)
			if err != nil {
				return errors.New("must be an IANA time zone name such as UTC or Europe/Paris (the default zone of schedules created without one)")
			}
			c.TimezoneName, c.Timezone = v, loc
			return nil
		},
		get: func(c *Config) string { return c.TimezoneName },
	},
	{
		env: "MAX_CONCURRENT_JOBS", flag: "max-concurrent-jobs", def: "100",
		help: "Most HTTP calls in flight at once, 1 to 100000.",
		set:  intSetting(func(c *Config) *int { return &c.MaxConcurrentJobs }, 1, 100000),
		get:  func(c *Config) string { return strconv.Itoa(c.MaxConcurrentJobs) },
	},
	{
		env: "HOST_MAX_CONCURRENCY", flag: "host-max-concurrency", def: "0",
		help: "Most HTTP calls in flight at once to one host (per node), 0 for no limit\n" +
			"but MAX_CONCURRENT_JOBS, up to 100000: a slow or dead host then holds no more.",
		set: intSetting(func(c *Config) *int { return &c.HostMaxConcurrency }, 0, 100000),
		get: func(c *Config) string { return strconv.Itoa(c.HostMaxConcurrency) },
	},
	{
		env: "DEFAULT_TIMEOUT", flag: "default-timeout", def: "30s",
		help: "Timeout of a call whose target sets none: seconds (30, 0.5) or a\n" +
			"duration (30s), at most " + FormatDuration(maxDefaultTimeout) + ".",
		set: secondsSetting(func(c *Config) *time.Duration { return &c.DefaultTimeout }, false, maxDefaultTimeout),
		get: func(c *Config) string { return FormatDuration(c.DefaultTimeout) },
	},
	{
		env: "MAX_RETRIES", flag: "max-retries", def: "0",
		help: fmt.Sprintf("Retries of a failed call whose target sets none, 0 to %d.", apicron.MaxRetriesLimit),
		set:  intSetting(func(c *Config) *int { return &c.MaxRetries }, 0, apicron.MaxRetriesLimit),
		get:  func(c *Config) string { return strconv.Itoa(c.MaxRetries) },
	},
	{
		env: "APP_TITLE", flag: "app-title", def: "apicron",
		help: "Title of the API documentation (/docs and /openapi.json).",
		set:  func(c *Config, v string) error { c.AppTitle = v; return nil },
		get:  func(c *Config) string { return c.AppTitle },
	},
	{
		env: "APP_VERSION", flag: "app-version", def: "", defaultText: "the build version",
		help: "Version shown in the API documentation.",
		set:  func(c *Config, v string) error { c.AppVersion = v; return nil },
		get:  func(c *Config) string { return c.AppVersion },
	},
	{
		env: "LOG_LEVEL", flag: "log-level", def: "INFO",
		help: "DEBUG, INFO, WARNING (or WARN) or ERROR.",
		set: func(c *Config, v string) error {
			switch strings.ToUpper(v) {
			case "DEBUG":
				c.LogLevel = slog.LevelDebug
			case "INFO":
				c.LogLevel = slog.LevelInfo
			case "WARNING", "WARN":
				c.LogLevel = slog.LevelWarn
			case "ERROR":
				c.LogLevel = slog.LevelError
			default:
				return errors.New("must be DEBUG, INFO, WARNING or ERROR")
			}
			return nil
		},
		get: func(c *Config) string { return c.LogLevel.String() },
	},
	{
		env: "LOG_FORMAT", flag: "log-format", def: LogFormatText,
		help: "text or json.",
		set: func(c *Config, v string) error {
			switch f := strings.ToLower(v); f {
			case LogFormatText, LogFormatJSON:
				c.LogFormat = f
				return nil
			}
			return errors.New("must be text or json")
		},
		get: func(c *Config) string { return c.LogFormat },
	},
	{
		env: "ACCESS_LOG", flag: "access-log", def: "false", boolean: true,
		help: "Log one line per HTTP request (method, path, status, bytes, duration,\n" +
			"remote address, X-Request-Id) at INFO, in LOG_FORMAT.",
		set: boolSetting(func(c *Config) *bool { return &c.AccessLog }),
		get: func(c *Config) string { return strconv.FormatBool(c.AccessLog) },
	},
	{
		env: "HOST", flag: "host", def: "127.0.0.1",
		help: "Address to listen on; 0.0.0.0 or :: for every interface.",
		set: func(c *Config, v string) error {
			h := v
			if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
				h = h[1 : len(h)-1]
			}
			if h == "" || strings.ContainsAny(h, "/[] \t") || strings.ContainsFunc(h, unicode.IsControl) {
				return errors.New("must be a host name or IP address, without a port")
			}
			if strings.Contains(h, ":") {
				if _, err := netip.ParseAddr(h); err != nil {
					return errors.New("must be a host name or IP address, without a port (set the port with PORT)")
				}
			}
			c.Host = h
			return nil
		},
		get: func(c *Config) string { return c.Host },
	},
	{
		env: "PORT", flag: "port", def: "8000",
		help: "TCP port to listen on, 0 to 65535; 0 picks a free port.",
		set:  intSetting(func(c *Config) *int { return &c.Port }, 0, 65535),
		get:  func(c *Config) string { return strconv.Itoa(c.Port) },
	},
	{
		env: "NODE_ID", flag: "node-id", defaultFunc: defaultNodeID, defaultText: "<hostname>-<pid>",
		help: "Name of this process among the nodes sharing a database.",
		set: func(c *Config, v string) error {
			if len(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
				return errors.New("must be at most 200 bytes, without spaces")
			}
			c.NodeID = v
			return nil
		},
		get: func(c *Config) string { return c.NodeID },
	},
	{
		env: "SHUTDOWN_GRACE", flag: "shutdown-grace", def: "30s",
		help: "How long calls in flight may finish at shutdown: seconds or a duration;\n" +
			"0 interrupts them at once.",
		set: secondsSetting(func(c *Config) *time.Duration { return &c.ShutdownGrace }, true, maxDuration),
		get: func(c *Config) string { return FormatDuration(c.ShutdownGrace) },
	},
	{
		env: "LEASE_TTL", flag: "lease-ttl", def: "5s",
		help: "How long a node's lease lasts without renewal (PostgreSQL with several\n" +
			"nodes): seconds or a duration, at most 1h.",
		set: secondsSetting(func(c *Config) *time.Duration { return &c.LeaseTTL }, false, time.Hour),
		get: func(c *Config) string { return FormatDuration(c.LeaseTTL) },
	},
	{
		env: "RUN_RETENTION", flag: "run-retention", def: "30d",
		help: "How long run records are kept: a duration such as 30d, 12h or 1d12h;\n" +
			"0 keeps them forever.",
		set: func(c *Config, v string) error {
			d, err := parseDuration(v, false)
			if err != nil || d < 0 {
				return errors.New("must be a duration such as 30d, 12h or 1d12h, or 0 to keep runs forever")
			}
			c.RunRetention = d
			return nil
		},
		get: func(c *Config) string { return FormatDuration(c.RunRetention) },
	},
	{
		env: "SQLITE_CACHE_MB", flag: "sqlite-cache-mb", def: "64",
		help: "SQLite only: the page cache of the connection that writes, in MiB (1 to\n" +
			"65536). It should hold a page per schedule firing every few seconds or\n" +
			"more often (the run index's last page of each), plus the schedules and\n" +
			"counters: what does not fit is read again from the file on every claim.",
		set: intSetting(func(c *Config) *int { return &c.SQLiteCacheMiB }, 1, 65536),
		get: func(c *Config) string { return strconv.Itoa(c.SQLiteCacheMiB) },
	},
	{
		env: "RUN_KEEP_PER_SCHEDULE", flag: "run-keep-per-schedule", def: "0",
		help: "How many finished runs each schedule keeps at most when it sets no\n" +
			fmt.Sprintf("keep_runs of its own: older ones are deleted (0 to %d; 0 is no cap).", apicron.MaxKeepRuns),
		set: intSetting(func(c *Config) *int { return &c.RunKeepPerSchedule }, 0, apicron.MaxKeepRuns),
		get: func(c *Config) string { return strconv.Itoa(c.RunKeepPerSchedule) },
	},
	{
		env: "METRICS_SCHEDULE_LABELS", flag: "metrics-schedule-labels", def: "0",
		help: "How many schedules get a schedule_id label of their own on the Prometheus\n" +
			"runs and latency series (the first seen; the rest are \"other\"),\n" +
			fmt.Sprintf("0 to %d; 0 adds no such label.", apicron.MaxScheduleLabels),
		set: intSetting(func(c *Config) *int { return &c.MetricsScheduleLabels }, 0, apicron.MaxScheduleLabels),
		get: func(c *Config) string { return strconv.Itoa(c.MetricsScheduleLabels) },
	},
	{
		env: "API_TOKEN", flag: "api-token", def: "", defaultText: "none", hidden: true,
		help: "Access token(s), comma-separated, each at least 16 characters. When\n" +
			"any token is set, every endpoint but /health needs the header\n" +
			"Authorization: Bearer <token>.",
		set: tokenSetting(func(c *Config) *[]string { return &c.APITokens }),
		get: func(c *Config) string { return maskTokens(c.APITokens) },
	},
	{
		env: "API_READ_TOKEN", flag: "api-read-token", def: "", defaultText: "none", hidden: true,
		help: "Read-only access token(s), comma-separated: they may only GET and HEAD.",
		set:  tokenSetting(func(c *Config) *[]string { return &c.APIReadTokens }),
		get:  func(c *Config) string { return maskTokens(c.APIReadTokens) },
	},
	{
		env: "INSECURE_NO_AUTH", flag: "insecure-no-auth", def: "false", boolean: true,
		help: "Serve without an access token on an address that is not loopback.\n" +
			"Only behind a proxy that authenticates every request.",
		set: boolSetting(func(c *Config) *bool { return &c.InsecureNoAuth }),
		get: func(c *Config) string { return strconv.FormatBool(c.InsecureNoAuth) },
	},
	{
		env: "ALLOWED_HOSTS", flag: "allowed-hosts", def: "", defaultText: "the loopback names when HOST is loopback, else any",
		help: "Host names the API answers to, comma-separated: names, *.example.com\n" +
			"(any name below it), IP addresses or CIDRs; * for any. A request with\n" +
			"another Host header gets 421. Unset: localhost, 127.0.0.0/8 and ::1\n" +
			"when HOST is loopback, any host otherwise.",
		set: hostsSetting,
		get: func(c *Config) string { return strings.Join(c.AllowedHosts, ",") },
	},
	{
		env: "OUTBOUND_DENY_PRIVATE", flag: "outbound-deny-private", def: "false", boolean: true,
		help: "Also refuse calls to loopback, private (RFC 1918, fc00::/7), CGNAT\n" +
			"and unspecified addresses; link-local and cloud metadata addresses are\n" +
			"always refused.",
		set: boolSetting(func(c *Config) *bool { return &c.OutboundDenyPrivate }),
		get: func(c *Config) string { return strconv.FormatBool(c.OutboundDenyPrivate) },
	},
	{
		env: "OUTBOUND_ALLOW_CIDRS", flag: "outbound-allow-cidrs", def: "", defaultText: "none",
		help: "Comma-separated CIDRs calls may reach even when the built-in rules\n" +
			"deny them, e.g. 10.1.2.3/32.",
		set: prefixSetting(func(c *Config) *[]netip.Prefix { return &c.OutboundAllow }),
		get: func(c *Config) string { return joinPrefixes(c.OutboundAllow) },
	},
	{
		env: "OUTBOUND_DENY_CIDRS", flag: "outbound-deny-cidrs", def: "", defaultText: "none",
		help: "Comma-separated CIDRs calls may never reach; they win over\n" +
			"OUTBOUND_ALLOW_CIDRS.",
		set: prefixSetting(func(c *Config) *[]netip.Prefix { return &c.OutboundDeny }),
		get: func(c *Config) string { return joinPrefixes(c.OutboundDeny) },
	},
	{
		env: "SECRET_KEY", flag: "secret-key", def: "", defaultText: "none", hidden: true,
		help: "Key that encrypts the values of secret headers in the database: 32\n" +
			"bytes as base64 or 64 hex digits; make one with openssl rand -base64 32.\n" +
			"Without it they are stored in clear text. Keep it: secrets stored\n" +
			"with it cannot be read without it.",
		set: func(c *Config, v string) error {
			if v == "" {
				c.SecretKey = nil
				return nil
			}
			key, err := ParseSecretKey(v)
			if err != nil {
				return err
			}
			c.SecretKey = key
			return nil
		},
		get: func(c *Config) string {
			if len(c.SecretKey) == 0 {
				return ""
			}
			return "********"
		},
	},
	{
		env: "MAX_API_CONNECTIONS", flag: "max-api-connections", def: "0", defaultText: "0: computed",
		help: fmt.Sprintf("Most API connections open at once, 1 to %d; 0 computes it: the\n", MaxAPIConnectionsLimit) +
			"open-file limit (RLIMIT_NOFILE) less the files kept for the database\n" +
			fmt.Sprintf("and the calls to targets, at most %d. At the bound the longest-idle\n", MaxComputedAPIConnections) +
			"connection is closed to make room for a new one.",
		set: intSetting(func(c *Config) *int { return &c.MaxAPIConnections }, 0, MaxAPIConnectionsLimit),
		get: func(c *Config) string { return strconv.Itoa(c.MaxAPIConnections) },
	},
	// Tracing: OpenTelemetry's standard variables (tracing.go).
	{
		env: "OTEL_EXPORTER_OTLP_ENDPOINT", flag: "otel-exporter-otlp-endpoint", def: "", defaultText: "none: no export", secret: true,
		help: "OTLP/HTTP collector to export the spans of requests to, e.g.\n" +
			"http://localhost:4318 (traces go to its /v1/traces). Unset, no span is\n" +
			"made; requests still carry a traceparent header.",
		set: otlpURLSetting(func(c *Config) *string { return &c.OTLPEndpoint }),
		get: func(c *Config) string { return RedactURL(c.OTLPEndpoint) },
	},
	{
		env: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", flag: "otel-exporter-otlp-traces-endpoint", def: "", defaultText: "none", secret: true,
		help: "Full URL spans are exported to, e.g. http://localhost:4318/v1/traces;\n" +
			"wins over OTEL_EXPORTER_OTLP_ENDPOINT.",
		set: otlpURLSetting(func(c *Config) *string { return &c.OTLPTracesEndpoint }),
		get: func(c *Config) string { return RedactURL(c.OTLPTracesEndpoint) },
	},
	{
		env: "OTEL_EXPORTER_OTLP_HEADERS", flag: "otel-exporter-otlp-headers", def: "", defaultText: "none", hidden: true,
		help: "Headers of every export request, name=value pairs, comma-separated,\n" +
			"values URL-encoded: Authorization=Bearer%20<token>,X-Scope-OrgID=ops.",
		set: otlpHeadersSetting,
		get: func(c *Config) string { return maskOTLPHeaders(c.OTLPHeaders) },
	},
	{
		env: "OTEL_SERVICE_NAME", flag: "otel-service-name", def: "apicron",
		help: "service.name of the exported spans.",
		set: func(c *Config, v string) error {
			if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
				return errors.New("must be at most 255 bytes, without control characters")
			}
			c.ServiceName = v
			return nil
		},
		get: func(c *Config) string { return c.ServiceName },
	},
	{
		env: "OTEL_TRACES_SAMPLER", flag: "otel-traces-sampler", def: SamplerParentBasedAlwaysOn,
		help: "Which runs' traces are exported: always_on, always_off, traceidratio\n" +
			"(a share of them, OTEL_TRACES_SAMPLER_ARG), or the same with parentbased_\n" +
			"before them (alike here: a run's trace has no parent).",
		set: samplerSetting,
		get: func(c *Config) string { return c.TracesSampler },
	},
	{
		env: "OTEL_TRACES_SAMPLER_ARG", flag: "otel-traces-sampler-arg", def: "1",
		help: "Share of the traces the traceidratio samplers export, 0 to 1.",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				return errors.New("must be a number from 0 to 1, e.g. 0.25")
			}
			c.TracesSamplerArg = f
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(c.TracesSamplerArg, 'g', -1, 64) },
	},
}

// MaxAPIConnectionsLimit is the largest MAX_API_CONNECTIONS.
const MaxAPIConnectionsLimit = 10_000_000

// MaxComputedAPIConnections caps the bound MAX_API_CONNECTIONS=0 computes,
// and is the bound where the system has no open-file limit to read: an idle
// connection costs some 25 KB of memory, so a bound taken from a limit of a
// million files would let a flood of clients exhaust the memory instead.
const MaxComputedAPIConnections = 4096

// SecretKeySize is the length of SECRET_KEY, decoded: an AES-256 key.
const SecretKeySize = 32

// ParseSecretKey decodes a SECRET_KEY: SecretKeySize bytes as 64 hex digits
// or as base64 (standard or URL alphabet, padded or not). The error never
// quotes the value.
func ParseSecretKey(v string) ([]byte, error) {
	if len(v) == 2*SecretKeySize {
		if key, err := hex.DecodeString(v); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(v); err == nil && len(key) == SecretKeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("must be %d bytes as base64 or %d hex digits; make one with: openssl rand -base64 32",
		SecretKeySize, 2*SecretKeySize)
}

// MinTokenLength is the shortest access token accepted.
const MinTokenLength = 16

// tokenSetting parses a comma-separated list of access tokens into field.
// The error never quotes a token.
func tokenSetting(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var tokens []string
		for i, t := range splitList(v) {
			if len(t) < MinTokenLength {
				return fmt.Errorf("token %d is too short; each must be at least %d characters", i+1, MinTokenLength)
			}
			for j := 0; j < len(t); j++ {
				if t[j] <= ' ' || t[j] > '~' {
					return fmt.Errorf("token %d has a character other than printable ASCII (no spaces)", i+1)
				}
			}
			tokens = append(tokens, t)
		}
		if v != "" && len(tokens) == 0 {
			return errors.New("must hold at least one token")
		}
		*field(c) = tokens
		return nil
	}
}

// maskTokens shows how many tokens there are, not what they are.
func maskTokens(tokens []string) string {
	masked := make([]string, len(tokens))
	for i := range masked {
		masked[i] = "********"
	}
	return strings.Join(masked, ",")
}

// hostsSetting parses ALLOWED_HOSTS: each item "*", a host name, "*." and
// a name, an IP address (IPv6 with or without brackets) or a CIDR prefix,
// never with a port or a scheme. The API is what matches them.
func hostsSetting(c *Config, v string) error {
	var hosts []string
	for _, item := range splitList(v) {
		if err := checkAllowedHost(item); err != nil {
			return err
		}
		hosts = append(hosts, item)
	}
	if v != "" && len(hosts) == 0 {
		return errors.New("must hold at least one host name, or * for any")
	}
	c.AllowedHosts = hosts
	return nil
}

// checkAllowedHost says what is wrong with one ALLOWED_HOSTS item, if
// anything: what the API would refuse to start with.
func checkAllowedHost(item string) error {
	switch {
	case item == "*":
		return nil
	case strings.Contains(item, "://"):
		return fmt.Errorf("%q is a URL; list the host name alone, as in apicron.example.com", item)
	case strings.Contains(item, "/"):
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR prefix", item)
		}
		if p.Addr().Is4In6() && p.Bits() < 96 {
			return fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses; write the IPv4 part as an IPv4 prefix", item)
		}
		return nil
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(item, "["), "]")); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("%q has an IPv6 zone; list the address without it", item)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(item); err == nil {
		return fmt.Errorf("%q has a port; list host names without one (any port is allowed)", item)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(item, "*."), ".")
	if name == "" || strings.ContainsFunc(name, notHostNameRune) || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%q is not a host name, *. and a name, an IP address or a CIDR prefix", item)
	}
	return nil
}

// notHostNameRune reports a rune no DNS label holds; underscores are
// allowed, as container and service names use them.
func notHostNameRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.'
}

func boolSetting(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

// prefixSetting parses comma-separated CIDR prefixes into field; a bare
// address is a prefix of that one address.
func prefixSetting(field func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []netip.Prefix
		for _, item := range splitList(v) {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				a, aerr := netip.ParseAddr(item)
				if aerr != nil || a.Zone() != "" {
					return fmt.Errorf("%q is not a CIDR prefix; want comma-separated prefixes such as 10.0.0.0/8, fd00::/8 or 192.0.2.7", item)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			if p.Addr().Is4In6() && p.Bits() < 96 {
				return fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses; write the IPv4 part as an IPv4 prefix", item)
			}
			out = append(out, p.Masked())
		}
		*field(c) = out
		return nil
	}
}

func joinPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// splitList splits a comma-separated value, trims each item and drops empty ones.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func intSetting(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be an integer from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// secondsSetting parses a number of seconds or a duration into field, which
// must be positive (or, with zeroOK, not negative) and at most hi.
func secondsSetting(field func(*Config) *time.Duration, zeroOK bool, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v, true)
		if err != nil || d < 0 || (d == 0 && !zeroOK) || d > hi {
			var want string
			switch {
			case zeroOK && hi == maxDuration:
				want = "must be seconds (30, 0.5) or a duration (30s, 1m), not negative"
			case zeroOK:
				want = fmt.Sprintf("must be seconds (30, 0.5) or a duration (30s, 1m), from 0 to %s", FormatDuration(hi))
			default:
				want = fmt.Sprintf("must be seconds (30, 0.5) or a duration (30s, 1m), more than 0 and at most %s", FormatDuration(hi))
			}
			return errors.New(want)
		}
		*field(c) = d
		return nil
	}
}
