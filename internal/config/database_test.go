package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Database
		wantErr string // in the error, if any
	}{
		// SQLite, SQLAlchemy style: 3 slashes relative, 4 absolute.
		{in: "sqlite:///./apicron.db", want: Database{DriverSQLite, "./apicron.db"}},
		{in: "sqlite:///relative/path.db", want: Database{DriverSQLite, "relative/path.db"}},
		{in: "sqlite:////abs/path.db", want: Database{DriverSQLite, "/abs/path.db"}},
		{in: "sqlite+aiosqlite:///./scheduler.db", want: Database{DriverSQLite, "./scheduler.db"}},
		{in: "SQLite+pysqlite:////var/lib/apicron/x.sqlite", want: Database{DriverSQLite, "/var/lib/apicron/x.sqlite"}},
		{in: "  sqlite:///./spaces.db  ", want: Database{DriverSQLite, "./spaces.db"}},
		// Bare paths.
		{in: "./apicron.db", want: Database{DriverSQLite, "./apicron.db"}},
		{in: "/abs/apicron.db", want: Database{DriverSQLite, "/abs/apicron.db"}},
		{in: "apicron.sqlite3", want: Database{DriverSQLite, "apicron.sqlite3"}},
		{in: "data/APICRON.DB", want: Database{DriverSQLite, "data/APICRON.DB"}},
		// file: URIs.
		{in: "file:apicron.db", want: Database{DriverSQLite, "apicron.db"}},
		{in: "file:./data/apicron.db", want: Database{DriverSQLite, "./data/apicron.db"}},
		{in: "file:///abs/apicron.db", want: Database{DriverSQLite, "/abs/apicron.db"}},
		{in: "file://localhost/abs/apicron.db", want: Database{DriverSQLite, "/abs/apicron.db"}},
		{in: "file:my%20db.db", want: Database{DriverSQLite, "my db.db"}},
		// PostgreSQL, rewritten to postgres:// for pgx.
		{in: "postgres://user:pass@localhost:5432/scheduler?sslmode=disable", want: Database{DriverPostgres, "postgres://user:pass@localhost:5432/scheduler?sslmode=disable"}},
		{in: "postgresql://user:pass@localhost/scheduler", want: Database{DriverPostgres, "postgres://user:pass@localhost/scheduler"}},
		{in: "postgresql+asyncpg://user:pass@localhost/scheduler", want: Database{DriverPostgres, "postgres://user:pass@localhost/scheduler"}},
		{in: "postgresql+psycopg2://u@/scheduler?host=/var/run/postgresql", want: Database{DriverPostgres, "postgres://u@/scheduler?host=/var/run/postgresql"}},
		{in: "POSTGRES://u:p%40ss@h/db", want: Database{DriverPostgres, "postgres://u:p%40ss@h/db"}},
		// Refused.
		{in: "", wantErr: "empty"},
		{in: "sqlite://:memory:", wantErr: "in-memory"},
		{in: "sqlite:///:memory:", wantErr: "in-memory"},
		{in: "sqlite://", wantErr: "in-memory"},
		{in: "sqlite:///", wantErr: "in-memory"},
		{in: "file::memory:", wantErr: "in-memory"},
		{in: "file:memdb?mode=memory&cache=shared", wantErr: "in-memory"},
		{in: "file:x.db?mode=ro", wantErr: "query parameters"},
		{in: "sqlite:///x.db?timeout=20", wantErr: "query parameters"},
		{in: "file://remote/x.db", wantErr: "remote host"},
		{in: "sqlite://host/x.db", wantErr: "3 slashes"},
		{in: "sqlite:x.db", wantErr: "sqlite:///relative.db"},
		{in: "postgres:db", wantErr: "postgres://"},
		{in: "postgres://u:p@h:port/db", wantErr: "malformed"},
		{in: "mysql://u:p@h/db", wantErr: `unsupported scheme "mysql"`},
		{in: "redis://h", wantErr: "unsupported scheme"},
		{in: "apicron", wantErr: "must be"},
		{in: "./apicron.txt", wantErr: "must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDatabaseURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDatabaseURL(%q) = %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDatabaseURL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://user:s3cret@localhost:5432/db", "postgres://user:xxxxx@localhost:5432/db"},
		{"postgres://h/db?sslpassword=k3y&sslmode=require", "postgres://h/db?sslpassword=xxxxx&sslmode=require"},
		{"postgres://h/db?pass%77ord=s3cret", "postgres://h/db?pass%77ord=xxxxx"},
		{"host=h sslpassword=k3y dbname=d", "host=h sslpassword=xxxxx dbname=d"},
		{"postgresql+asyncpg://user:pass@localhost/scheduler", "postgresql+asyncpg://user:xxxxx@localhost/scheduler"},
		{"postgres://user:p%40ss%2Fw@h/db?sslmode=disable", "postgres://user:xxxxx@h/db?sslmode=disable"},
		{"postgres://user@h/db", "postgres://user@h/db"},
		{"postgres://user:@h/db", "postgres://user:@h/db"},
		{"postgres://h:5432/db", "postgres://h:5432/db"},
		{"postgres://h/db?user=u&password=s3cret&sslmode=disable", "postgres://h/db?user=u&password=xxxxx&sslmode=disable"},
		{"postgres://h/db?PASSWORD=s3cret", "postgres://h/db?PASSWORD=xxxxx"},
		{"host=h user=u password=s3cret dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password='s3 cret' dbname=db", "host=h password=xxxxx dbname=db"},
		{"postgres://h/db?oldpassword=keep", "postgres://h/db?oldpassword=xxxxx"},
		// Malformed: an unescaped '/', '@' or '#' in the password.
		{"postgres://user:s3/cret@h/db", "postgres://user:xxxxx@h/db"},
		{"postgres://user:s3@cret@h/db", "postgres://user:xxxxx@h/db"},
		{"postgres://user:s3#cret@h/db", "postgres://user:xxxxx@h/db"},
		{"sqlite:///./apicron.db", "sqlite:///./apicron.db"},
		{"./apicron.db", "./apicron.db"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"postgres://user:s3cret@localhost:5432/db",
		"postgres://user:s3/cret@h/db?password=x",
		"host=h password='a b'",
		"sqlite:///./apicron.db",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := RedactURL(s)
		// Whatever url.Parse takes for the password must be gone.
		if u, err := url.Parse(s); err == nil && u.Scheme != "" {
			// The password may also stand elsewhere in the input (as the host,
			// say); what counts is that its place in the userinfo is masked.
			if p, ok := u.User.Password(); ok && len(p) >= 4 && !strings.Contains(redacted, p) && strings.Count(got, p) >= strings.Count(s, p) {
				t.Errorf("RedactURL(%q) = %q shows password %q", s, got, p)
			}
		}
	})
}

func FuzzParseDatabaseURL(f *testing.F) {
	for _, s := range []string{
		"sqlite:///./apicron.db", "sqlite:////abs.db", "sqlite+aiosqlite:///./scheduler.db",
		"file:x.db", "postgresql+asyncpg://user:pass@localhost/scheduler", "x.db", "sqlite://:memory:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		db, err := ParseDatabaseURL(s)
		if err != nil {
			// The error must not echo the password. Swap the password for a
			// marker so that words of the message ("password") do not count.
			if u, perr := url.Parse(s); perr == nil {
				// A password that also stands elsewhere in the input (in the
				// scheme, say, which the error may name) is not judged.
				if p, ok := u.User.Password(); ok && len(p) >= 4 && isAlnum(p) && !strings.Contains(s, "ZZZZ") && strings.Count(s, p) == 1 {
					marker := strings.Repeat("Z", len(p))
					if _, err := ParseDatabaseURL(strings.ReplaceAll(s, p, marker)); err != nil && strings.Contains(err.Error(), marker) {
						t.Errorf("error %q shows the password", err)
					}
				}
			}
			return
		}
		switch db.Driver {
		case DriverSQLite:
			if db.DSN == "" || db.DSN == ":memory:" {
				t.Errorf("ParseDatabaseURL(%q) = %+v", s, db)
			}
		case DriverPostgres:
			if !strings.HasPrefix(db.DSN, "postgres://") {
				t.Errorf("ParseDatabaseURL(%q) = %+v", s, db)
			}
		default:
			t.Errorf("ParseDatabaseURL(%q): driver %q", s, db.Driver)
		}
	})
}

func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func TestDatabase_Location(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		url, want string
	}{
		{"sqlite:///./apicron.db", filepath.Join(wd, "apicron.db")},
		{"sqlite:////var/lib/apicron/a.db", "/var/lib/apicron/a.db"},
		{"postgres://u:s3cret@db:5432/app?sslmode=disable", "postgres://u:xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://u@db/app?password=s3cret", "postgres://u@db/app?password=xxxxx"},
	} {
		db, err := ParseDatabaseURL(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.Location(); got != tt.want {
			t.Errorf("Location of %s = %q, want %q", tt.url, got, tt.want)
		}
	}
}
