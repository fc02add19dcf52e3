// Package config reads apicron's settings from flags, the environment, a .env
// file and defaults, in that order of precedence, and validates them into one
// Config value. It keeps no state of its own: Load is a pure function of its
// arguments (plus the host name and process id for the default node id).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Log formats accepted by LOG_FORMAT.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Config is every apicron setting, validated. Build it with Load.
type Config struct {
	// DatabaseURL is the setting as given. It may hold a password: log
	// RedactURL(DatabaseURL) or the Config itself, never this field.
	DatabaseURL string
	// Database is DatabaseURL parsed for a driver.
	Database Database
	// AutoMigrate applies pending migrations when serve starts; without it
	// serve refuses a database with pending migrations.
	AutoMigrate bool

	// TimezoneName is SCHEDULER_TIMEZONE as given, e.g. "UTC" or "Europe/Paris".
	TimezoneName string
	// Timezone is TimezoneName loaded with time.LoadLocation.
	Timezone *time.Location

	MaxConcurrentJobs int // 1..100000
	// HostMaxConcurrency bounds the calls in flight to one host, per node; 0: no limit.
	HostMaxConcurrency int
	DefaultTimeout     time.Duration // (0, apicron.MaxTimeoutSeconds]
	MaxRetries         int           // 0..apicron.MaxRetriesLimit

	AppTitle   string
	AppVersion string // "" means: use the build version

	LogLevel  slog.Level
	LogFormat string // LogFormatText or LogFormatJSON
	// AccessLog logs one line per HTTP request.
	AccessLog bool

	Host string // without brackets, e.g. "127.0.0.1", "::1", "localhost"
	Port int    // 0..65535; 0 picks a free port

	NodeID        string
	ShutdownGrace time.Duration // >= 0
	LeaseTTL      time.Duration // (0, 1h]
	RunRetention  time.Duration // >= 0; 0 keeps runs forever
	// RunKeepPerSchedule caps the finished runs kept per schedule whose
	// keep_runs is null: 0..apicron.MaxKeepRuns, 0 for no cap.
	RunKeepPerSchedule int
	// MetricsScheduleLabels is how many schedules get a schedule_id label
	// of their own in the Prometheus exposition:
	// 0..apicron.MaxScheduleLabels, 0 for none.
	MetricsScheduleLabels int
	// SQLiteCacheMiB is the page cache of SQLite's writer connection, in
	// MiB: 1..65536 (SQLITE_CACHE_MB).
	SQLiteCacheMiB int

	// APITokens may call every endpoint; APIReadTokens only GET and HEAD
	// ones. When either is set, every endpoint but /health needs one. They
	// are secrets: String and LogValue mask them.
	APITokens     []string
	APIReadTokens []string
	// InsecureNoAuth lets the API listen beyond loopback without a token
	// (see CheckExposure).
	InsecureNoAuth bool
	// AllowedHosts is ALLOWED_HOSTS as given, nil when unset; what the API
	// answers to is APIHosts.
	AllowedHosts []string

	// The outbound policy: OutboundDenyPrivate denies private addresses
	// besides the link-local and metadata ones always denied; OutboundAllow
	// prefixes are allowed even so, except OutboundDeny ones, never reached.
	OutboundDenyPrivate bool
	OutboundAllow       []netip.Prefix
	OutboundDeny        []netip.Prefix

	// SecretKey encrypts the values of secret headers in the database: 32
	// bytes, or nil to store them in clear text. It is a secret: String
	// and LogValue mask it.
	SecretKey []byte

	// MaxAPIConnections bounds the API connections open at once:
	// 1..MaxAPIConnectionsLimit, or 0 to compute the bound at start from the
	// open-file limit.
	MaxAPIConnections int

	// Tracing, from OpenTelemetry's standard variables: spans are exported
	// when OTLPEndpoint or OTLPTracesEndpoint is set (TracesURL).
	// OTLPEndpoint is the collector's base URL, OTLPTracesEndpoint the
	// full URL that wins over it. OTLPHeaders are sent with every export
	// and may hold a credential: String and LogValue mask their values.
	OTLPEndpoint       string
	OTLPTracesEndpoint string
	OTLPHeaders        map[string]string
	// ServiceName is the spans' service.name.
	ServiceName string
	// TracesSampler is one of the Sampler* names; TracesSamplerArg the
	// share of traces the ratio samplers keep, 0..1.
	TracesSampler    string
	TracesSamplerArg float64

	// Sources says where each setting came from, by its environment
	// variable: "flag", "env", ".env" or "default". Load fills it.
	Sources map[string]string

	// Args holds the arguments that are not flags (a subcommand and its
	// arguments), in order.
	Args []string
}

// Addr returns the address to listen on, host:port.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// CheckExposure refuses to serve the API beyond this machine with no access
// token: listening on an address that is not loopback (127.0.0.0/8, ::1 or
// "localhost"; 0.0.0.0 and :: are every interface) needs API_TOKEN or
// API_READ_TOKEN, or INSECURE_NO_AUTH=true. The error says how to set one.
func (c Config) CheckExposure() error {
	if len(c.APITokens) > 0 || len(c.APIReadTokens) > 0 || c.InsecureNoAuth || IsLoopback(c.Host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without an access token: anyone who can reach it could "+
		"read and change every target. Set API_TOKEN (or --api-token) to a random secret of at least %d "+
		"characters, for example API_TOKEN=$(openssl rand -hex 32), and send it as "+
		"\"Authorization: Bearer <token>\"; or listen on 127.0.0.1 (HOST); or, only if a proxy in front of "+
		"apicron authenticates every request, set INSECURE_NO_AUTH=true (--insecure-no-auth)", c.Addr(), MinTokenLength)
}

// APIHosts returns the host names the API answers to: ALLOWED_HOSTS if set;
// else, when HOST is loopback, the names a browser on this machine reaches
// it by (localhost, 127.0.0.0/8, ::1), so that a page whose name
// its attacker points at 127.0.0.1 (DNS rebinding) cannot use an API that
// has no token; else nil, any host. An API beyond loopback has tokens (a
// page cannot send them), or INSECURE_NO_AUTH and a proxy in front of it
// that decides; its names are not known here.
func (c Config) APIHosts() []string {
	switch {
	case c.AllowedHosts != nil:
		return c.AllowedHosts
	case IsLoopback(c.Host):
		return []string{"localhost", "127.0.0.0/8", "::1"}
	}
	return nil
}

// IsLoopback reports whether host, a HOST setting, is a loopback address
// (127.0.0.0/8, ::1, or either IPv4-mapped) or "localhost". Other names are
// not: what they resolve to is not known here.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// String returns the settings as space-separated key=value pairs for a
// start-up log line. The database password, the tokens and the secret key
// are masked.
func (c Config) String() string {
	var b strings.Builder
	for i, s := range settings {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := s.get(&c)
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "%s=%s", strings.ToLower(s.env), v)
	}
	return b.String()
}

// LogValue implements slog.LogValuer: the settings as a group keyed by the
// lower-case environment names. The database password, the tokens and the
// secret key are masked.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(settings))
	for _, s := range settings {
		attrs = append(attrs, slog.String(strings.ToLower(s.env), s.get(&c)))
	}
	return slog.GroupValue(attrs...)
}

// Load builds a Config from, in order of precedence, the flags in args, the
// environment read through getenv, the file .env in dotenvDir, and the
// defaults. A value that is empty (or only white space) counts as unset at
// every level, so DATABASE_URL= in the environment does not hide the .env
// file, and --app-title= falls back to the default.
//
// getenv may be nil (no environment); dotenvDir may be "" (no .env file). A
// missing .env file is not an error; one that cannot be read or parsed is.
//
// Flags may come before or after other arguments: "apicron --port 9 version"
// and "apicron version --port 9" both give Port 9 and Args ["version"]. "--"
// ends the flags. --version and -v are the command "version": they put it
// first in Args. For the command "help", -h, -help or --help Load returns
// flag.ErrHelp, whatever the other settings hold, and the caller prints
// Usage. Every invalid setting is reported, each naming its environment
// variable, in one error.
func Load(args []string, getenv func(string) string, dotenvDir string) (Config, error) {
	fs := flag.NewFlagSet("apicron", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flagValues := make(map[string]*string, len(settings))
	for _, s := range settings {
		if s.boolean {
			v := new(string)
			fs.Var(boolFlag{v}, s.flag, s.help)
			flagValues[s.flag] = v
			continue
		}
		flagValues[s.flag] = fs.String(s.flag, "", s.help)
	}
	flagArgs, positional, version := splitArgs(args)
	if version {
		positional = append([]string{"version"}, positional...)
	}
	if len(positional) > 0 && positional[0] == "help" {
		return Config{}, flag.ErrHelp
	}
	if err := fs.Parse(flagArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, flag.ErrHelp
		}
		return Config{}, fmt.Errorf("%w (see --help)", err)
	}

	var dotenv map[string]dotenvEntry
	var dotenvPath string
	if dotenvDir != "" {
		dotenvPath = filepath.Join(dotenvDir, ".env")
		var err error
		if dotenv, err = readDotenv(dotenvPath); err != nil {
			return Config{}, err
		}
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}

	cfg := Config{Args: positional, Sources: make(map[string]string, len(settings))}
	var errs []error
	for _, s := range settings {
		var value, source string
		if v := strings.TrimSpace(*flagValues[s.flag]); v != "" {
			value, source = v, "flag --"+s.flag
			cfg.Sources[s.env] = "flag"
		} else if v := strings.TrimSpace(getenv(s.env)); v != "" {
			value, source = v, "environment"
			cfg.Sources[s.env] = "env"
		} else if e, ok := dotenv[s.env]; ok && strings.TrimSpace(e.value) != "" {
			value, source = strings.TrimSpace(e.value), fmt.Sprintf("%s line %d", dotenvPath, e.line)
			cfg.Sources[s.env] = ".env"
		} else {
			value, source = s.defaultValue(), "default"
			cfg.Sources[s.env] = "default"
		}
		if err := s.set(&cfg, value); err != nil {
			shown := strconv.Quote(value)
			if s.secret {
				shown = strconv.Quote(RedactURL(value))
			} else if s.hidden {
				shown = "(value hidden)"
			}
			errs = append(errs, fmt.Errorf("invalid %s %s: %w (from %s)", s.env, shown, err, source))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, cfg.checkTokens())
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// checkTokens refuses a token that is both a full and a read-only one: which
// it is would be a guess.
func (c Config) checkTokens() error {
	for i, t := range c.APIReadTokens {
		for _, full := range c.APITokens {
			if t == full {
				return fmt.Errorf("API_READ_TOKEN token %d is also in API_TOKEN; a token is either read-only or not", i+1)
			}
		}
	}
	return nil
}

// boolFlag is the flag.Value of a boolean setting: "--name" alone sets
// "true", "--name=false" sets "false", and the setting parses the text.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}

func (b boolFlag) Set(s string) error { *b.v = s; return nil }

func (b boolFlag) IsBoolFlag() bool { return true }

// splitArgs separates flags (with their values) from other arguments, so that
// flags may follow a subcommand. A flag that takes a value, as all but the
// boolean ones do, takes the next argument as its value when it has no "=",
// as package flag does. --version and -v (any number of dashes) are taken
// out of the flags and reported as version.
func splitArgs(args []string) (flagArgs, positional []string, version bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flagArgs, append(positional, args[i+1:]...), version
		case len(a) > 1 && a[0] == '-':
			name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			if name == "version" || name == "v" {
				version = true
				continue
			}
			flagArgs = append(flagArgs, a)
			if !strings.Contains(name, "=") && takesValue(name) && i+1 < len(args) {
				i++
				flagArgs = append(flagArgs, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	return flagArgs, positional, version
}

// Command returns the command args name, the first argument that is not a
// flag or a flag's value, as Load reads them ("" if there is none), and
// args without it. It lets a command with flags of its own (apicron echo)
// parse them itself, without the settings.
func Command(args []string) (name string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1], append(slices.Clone(args[:i+1]), args[i+2:]...)
			}
			return "", args
		case len(a) > 1 && a[0] == '-':
			name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			if !strings.Contains(name, "=") && takesValue(name) {
				i++
			}
		default:
			return a, append(slices.Clone(args[:i]), args[i+1:]...)
		}
	}
	return "", args
}

// takesValue reports whether name is a setting's flag that takes a value.
func takesValue(name string) bool {
	for _, s := range settings {
		if s.flag == name {
			return !s.boolean
		}
	}
	return false
}

// Usage writes the help on settings: how they are read, and each one with
// its flag, environment variable and default. Callers add their commands.
func Usage(w io.Writer) {
	fmt.Fprint(w, `Settings:
  Each setting is read from a flag, else an environment variable, else a
  line KEY=VALUE in the file .env, else its default. An empty value counts
  as unset. Durations are written 500ms, 30s, 5m, 1h30m, 12h or 30d (a d is
  24 hours); where noted, a plain number means seconds.

`)
	for _, s := range settings {
		def := s.defaultText
		if def == "" {
			def = strconv.Quote(s.def)
		}
		fmt.Fprintf(w, "  --%s, %s (default %s)\n", s.flag, s.env, def)
		for _, line := range strings.Split(s.help, "\n") {
			fmt.Fprintf(w, "        %s\n", line)
		}
	}
}

// NonDefault returns the environment names of the settings whose values
// are not their defaults, in the order of --help, for a start-up line that
// says what is set without showing values.
func (c Config) NonDefault() []string {
	var names []string
	for _, s := range settings {
		var d Config
		if err := s.set(&d, s.defaultValue()); err != nil || s.get(&c) != s.get(&d) {
			names = append(names, s.env)
		}
	}
	return names
}

// Setting is one effective setting as a person may see it: its
// environment variable, its value with any secret masked (tokens,
// SECRET_KEY, the password in DATABASE_URL: what String shows), and where
// it came from ("flag", "env", ".env", "default"; "" when c was not made
// by Load).
type Setting struct {
	Name, Value, Source string
}

// Settings lists every setting of c in the order of Usage, secrets masked.
func (c Config) Settings() []Setting {
	out := make([]Setting, 0, len(settings))
	for _, s := range settings {
		out = append(out, Setting{Name: s.env, Value: s.get(&c), Source: c.Sources[s.env]})
	}
	return out
}

// defaultNodeID is "<hostname>-<pid>", unique enough among the nodes sharing
// one database.
func defaultNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "apicron"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
