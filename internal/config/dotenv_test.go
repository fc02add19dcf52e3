package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "plain", in: "A=1\nB=two words\n", want: map[string]string{"A": "1", "B": "two words"}},
		{name: "comments and blanks", in: "# c\n\n  # indented\nA=1 # trailing\nB=x#y\n", want: map[string]string{"A": "1", "B": "x#y"}},
		{name: "export", in: "export A=1\nexport\tB=2\nexport C\n", want: map[string]string{"A": "1", "B": "2"}},
		{name: "key named export", in: "export=1\n", want: map[string]string{"export": "1"}},
		{name: "spaces around =", in: "A = 1 \n", want: map[string]string{"A": "1"}},
		{name: "double quotes", in: `A="a # not a comment"` + "\n" + `B="say \"hi\"\n\\" # c`, want: map[string]string{"A": "a # not a comment", "B": "say \"hi\"\n\\"}},
		{name: "single quotes", in: `A='$HOME \n "x"'`, want: map[string]string{"A": `$HOME \n "x"`}},
		{name: "empty values", in: "A=\nB=\"\"\nC=''\n", want: map[string]string{"A": "", "B": "", "C": ""}},
		{name: "value with =", in: "DATABASE_URL=postgres://u:p@h/db?sslmode=disable\n", want: map[string]string{"DATABASE_URL": "postgres://u:p@h/db?sslmode=disable"}},
		{name: "CRLF and BOM", in: "\uFEFFA=1\r\nB=\"2\"\r\n", want: map[string]string{"A": "1", "B": "2"}},
		{name: "last wins", in: "A=1\nA=2\n", want: map[string]string{"A": "2"}},
		{name: "no equals", in: "A=1\nnonsense here\n", wantErr: "line 2"},
		{name: "bad key", in: "1A=1\n", wantErr: "line 1"},
		{name: "unterminated", in: "A=1\nB=\"open\n", wantErr: "line 2: B: missing closing quote"},
		{name: "text after quote", in: "A='x' y\n", wantErr: "line 1: A: unexpected text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := parseDotenv(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseDotenv = %v, %v; want error with %q", m, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]string, len(m))
			for k, e := range m {
				got[k] = e.value
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDotenv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseDotenv(f *testing.F) {
	f.Add("# c\nexport A='1'\nB=\"x\\\"y\" # c\nC=d#e\n")
	f.Add("A=\"open\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseDotenv(s)
		if err != nil {
			return
		}
		for k, e := range m {
			if !isEnvName(k) || e.line < 1 {
				t.Errorf("parseDotenv(%q): key %q line %d", s, k, e.line)
			}
		}
	})
}
