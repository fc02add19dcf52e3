package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// dotenvEntry is one value from a .env file and the line it came from, so an
// invalid value can be traced to its line.
type dotenvEntry struct {
	value string
	line  int
}

// readDotenv reads the .env file at path. A missing file yields no entries and
// no error. Nothing is put into the process environment.
func readDotenv(path string) (map[string]dotenvEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m, err := parseDotenv(string(b))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// parseDotenv parses the text of a .env file, a subset of shell syntax:
//
//	# a comment line
//	KEY=value                  surrounding spaces trimmed; " #" starts a comment
//	export KEY=value           "export " is ignored
//	KEY="a \"quoted\" value"   double quotes: \" \\ \n \t \r escapes
//	KEY='literal $value'       single quotes: no escapes
//	KEY=                       an empty value, which Load treats as unset
//
// Values are single-line and not expanded (no $VAR). A later line for the same
// key wins. A line that is not one of these forms is an error naming its number.
func parseDotenv(text string) (map[string]dotenvEntry, error) {
	text = strings.TrimPrefix(text, "\uFEFF")
	m := make(map[string]dotenvEntry)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !isEnvName(key) {
			return nil, fmt.Errorf("line %d: want KEY=VALUE with KEY made of letters, digits and _", n)
		}
		if !ok {
			continue // "export KEY" alone sets nothing
		}
		value, err := parseDotenvValue(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n, key, err)
		}
		m[key] = dotenvEntry{value: value, line: n}
	}
	return m, nil
}

// parseDotenvValue parses the trimmed text after '='.
func parseDotenvValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	switch q := s[0]; q {
	case '"', '\'':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == q:
				if rest := strings.TrimSpace(s[i+1:]); rest != "" && rest[0] != '#' {
					return "", fmt.Errorf("unexpected text after closing quote: %q", rest)
				}
				return b.String(), nil
			case c == '\\' && q == '"' && i+1 < len(s):
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case '"', '\\':
					b.WriteByte(s[i])
				default:
					b.WriteByte('\\')
					b.WriteByte(s[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("missing closing quote %c", q)
	}
	// Unquoted: a '#' after white space starts a comment; a '#' inside a
	// word (a URL fragment, a password) is kept.
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i]), nil
		}
	}
	return s, nil
}

// isEnvName reports whether s is a shell variable name.
func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return s != ""
}
