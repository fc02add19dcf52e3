package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database is a DATABASE_URL parsed for a driver.
type Database struct {
	// Driver is DriverSQLite or DriverPostgres.
	Driver string
	// DSN is, for SQLite, the database file path (relative to the working
	// directory unless absolute); for PostgreSQL, a postgres:// URL for pgx.
	// It may hold a password: log the Database, not DSN.
	DSN string
}

// String returns the driver and the DSN with its password masked, for logs.
func (d Database) String() string {
	return d.Driver + " " + RedactURL(d.DSN)
}

// Location is where the database is, for logs: for SQLite the file's
// absolute path (its DSN may be relative to the working directory), for
// PostgreSQL the URL with its password masked.
func (d Database) Location() string {
	if d.Driver == DriverSQLite {
		if abs, err := filepath.Abs(d.DSN); err == nil {
			return abs
		}
		return d.DSN
	}
	return RedactURL(d.DSN)
}

var errMemory = errors.New("an in-memory SQLite database is not supported: each pooled connection " +
	"would get its own empty database; use a file such as sqlite:///./apicron.db")

// ParseDatabaseURL parses a database URL in any of the forms apicron accepts:
//
//	sqlite:///relative/path.db    relative to the working directory (3 slashes)
//	sqlite:////absolute/path.db   absolute (4 slashes), as in SQLAlchemy
//	sqlite+aiosqlite:///./x.db    any SQLAlchemy "+driver" suffix is ignored
//	./path.db, /abs/path.db       a bare path ending in .db, .sqlite or .sqlite3
//	file:path.db, file:///abs.db  a file: URI, without query parameters
//	postgres://user:password@host:5432/dbname?sslmode=disable
//	postgresql://..., postgresql+asyncpg://...   rewritten to postgres://
//
// In-memory SQLite databases and SQLite query parameters (apicron sets its own
// pragmas) are refused. Error messages never contain the password.
func ParseDatabaseURL(s string) (Database, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Database{}, errors.New("must not be empty")
	}
	if i := strings.IndexByte(s, ':'); i > 0 && isScheme(s[:i]) {
		scheme := strings.ToLower(s[:i])
		base, _, _ := strings.Cut(scheme, "+")
		rest := s[i+1:]
		switch base {
		case "file":
			return parseFileURI(s)
		case "sqlite":
			p, ok := strings.CutPrefix(rest, "//")
			if !ok {
				return Database{}, errors.New("must be sqlite:///relative.db or sqlite:////absolute.db")
			}
			return parseSQLitePath(p)
		case "postgres", "postgresql":
			return parsePostgres(rest)
		default:
			return Database{}, fmt.Errorf("unsupported scheme %q: use sqlite:///path.db or postgres://user:password@host/dbname", s[:i])
		}
	}
	switch strings.ToLower(filepath.Ext(s)) {
	case ".db", ".sqlite", ".sqlite3":
		return Database{Driver: DriverSQLite, DSN: s}, nil
	}
	return Database{}, errors.New("must be sqlite:///path.db, a file path ending in .db, or postgres://user:password@host/dbname")
}

// parseSQLitePath takes what follows "sqlite://": "/relative.db",
// "//absolute.db", or (refused) "" and ":memory:", SQLAlchemy's in-memory forms.
func parseSQLitePath(p string) (Database, error) {
	if p == "" || p == ":memory:" {
		return Database{}, errMemory
	}
	path, ok := strings.CutPrefix(p, "/")
	if !ok {
		return Database{}, errors.New("has a host name; use sqlite:///relative.db (3 slashes) or sqlite:////absolute.db (4 slashes)")
	}
	if strings.ContainsAny(path, "?") {
		return Database{}, errors.New("query parameters are not supported for SQLite (apicron sets its own)")
	}
	if path == "" || path == ":memory:" {
		return Database{}, errMemory
	}
	return Database{Driver: DriverSQLite, DSN: path}, nil
}

// parseFileURI reads an SQLite URI filename: file:rel.db, file:///abs.db,
// file://localhost/abs.db.
func parseFileURI(s string) (Database, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Database{}, errors.New("malformed file: URI")
	}
	if u.Query().Get("mode") == "memory" {
		return Database{}, errMemory
	}
	if u.RawQuery != "" {
		return Database{}, errors.New("query parameters are not supported for SQLite (apicron sets its own)")
	}
	path := u.Path
	if u.Opaque != "" {
		if path, err = url.PathUnescape(u.Opaque); err != nil {
			return Database{}, errors.New("malformed file: URI")
		}
	} else if u.Host != "" && u.Host != "localhost" {
		return Database{}, errors.New("file: URI names a remote host; use file:relative.db or file:///absolute.db")
	}
	if path == "" || path == ":memory:" {
		return Database{}, errMemory
	}
	return Database{Driver: DriverSQLite, DSN: path}, nil
}

// parsePostgres takes what follows "postgres:" (or "postgresql+asyncpg:" and
// the like) and returns a postgres:// URL for pgx.
func parsePostgres(rest string) (Database, error) {
	if !strings.HasPrefix(rest, "//") {
		return Database{}, errors.New("must be postgres://user:password@host:5432/dbname")
	}
	dsn := "postgres:" + rest
	// url.Parse's error quotes the whole URL, password included: keep it out.
	if _, err := url.Parse(dsn); err != nil {
		return Database{}, errors.New("malformed URL (percent-encode special characters in the user name and password)")
	}
	return Database{Driver: DriverPostgres, DSN: dsn}, nil
}

// isScheme reports whether s is a URL scheme: a letter, then letters, digits,
// '+', '-' or '.'.
func isScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// redacted replaces a password in RedactURL's output.
const redacted = "xxxxx"

// RedactURL returns s with passwords replaced by "xxxxx", for logs and error
// messages: the password of a URL's user information (scheme://user:password@host)
// and the value of any password= parameter (in a query string or a key=value
// connection string). It works on the text and never fails: where a URL is
// malformed (an unescaped '/' or '@' in the password) it masks from the first
// ':' of the user information to the last '@', erring toward masking too much.
func RedactURL(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		start := len(s) - len(rest)
		authEnd := strings.IndexAny(rest, "/?#")
		if authEnd < 0 {
			authEnd = len(rest)
		}
		at := strings.LastIndex(rest[:authEnd], "@")
		if at < 0 {
			at = strings.LastIndex(rest, "@")
		}
		if at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 && colon+1 < at {
				s = s[:start+colon+1] + redacted + s[start+at:]
			}
		}
	}
	return redactQueryKeys(redactPasswordParams(s))
}

// keyEndsHere reports whether the letters before lower[j] start at a
// parameter's beginning: "sslpassword=" is a password too.
func keyEndsHere(lower string, j int) bool {
	k := j
	for k > 0 && lower[k-1] >= 'a' && lower[k-1] <= 'z' {
		k--
	}
	return k < j && (k == 0 || strings.ContainsRune("?&; \t", rune(lower[k-1])))
}

// redactQueryKeys masks the value of every query parameter of a URL whose
// key, once unescaped ("pass%77ord"), names a password.
func redactQueryKeys(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	pairs := strings.Split(query, "&")
	for i, p := range pairs {
		k, _, _ := strings.Cut(p, "=")
		if key, err := url.QueryUnescape(k); err == nil && strings.Contains(asciiLower(key), "password") && strings.Contains(p, "=") {
			pairs[i] = k + "=" + redacted
		}
	}
	out := base + "?" + strings.Join(pairs, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// redactPasswordParams masks the value of each password= (any case) that
// starts a query parameter or a key=value pair.
func redactPasswordParams(s string) string {
	const key = "password="
	var b strings.Builder
	lower := asciiLower(s) // not strings.ToLower: it may change byte offsets
	i := 0
	for {
		j := strings.Index(lower[i:], key)
		if j < 0 {
			break
		}
		j += i
		end := j + len(key)
		if j > 0 && !strings.ContainsRune("?&; \t", rune(s[j-1])) && !keyEndsHere(lower, j) {
			b.WriteString(s[i:end])
			i = end
			continue
		}
		var v int
		if end < len(s) && s[end] == '\'' { // key='quoted value' in a connection string
			if v = strings.IndexByte(s[end+1:], '\''); v < 0 {
				v = len(s) - end
			} else {
				v += 2
			}
		} else if v = strings.IndexAny(s[end:], "&; \t#"); v < 0 {
			v = len(s) - end
		}
		b.WriteString(s[i:end])
		if v > 0 {
			b.WriteString(redacted)
		}
		i = end + v
	}
	b.WriteString(s[i:])
	return b.String()
}

// asciiLower lower-cases ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
