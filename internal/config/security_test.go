package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoad_Tokens(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, []string{"--api-token", " full-token-0123456789 ,full-token-abcdefghij,"},
		env(map[string]string{"API_READ_TOKEN": "read-token-0123456789"}), "")
	if want := []string{"full-token-0123456789", "full-token-abcdefghij"}; !reflect.DeepEqual(c.APITokens, want) {
		t.Errorf("APITokens = %q, want %q", c.APITokens, want)
	}
	if want := []string{"read-token-0123456789"}; !reflect.DeepEqual(c.APIReadTokens, want) {
		t.Errorf("APIReadTokens = %q, want %q", c.APIReadTokens, want)
	}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", c)
	for name, out := range map[string]string{
		"String": c.String(),
		"%v":     fmt.Sprintf("%v", c),
		"slog":   logged.String(),
	} {
		if strings.Contains(out, "token-") {
			t.Errorf("%s shows a token: %s", name, out)
		}
		if !strings.Contains(out, "********,********") {
			t.Errorf("%s does not show that two tokens are set: %s", name, out)
		}
	}

	_, err := Load(nil, env(map[string]string{
		"API_TOKEN": "same-token-0123456789", "API_READ_TOKEN": "other-token-0123456789,same-token-0123456789",
	}), "")
	if err == nil || !strings.Contains(err.Error(), "API_READ_TOKEN token 2 is also in API_TOKEN") || strings.Contains(err.Error(), "same-token") {
		t.Errorf("a token in both lists: %v", err)
	}
}

func TestParseSecretKey(t *testing.T) {
	t.Parallel()
	key := make([]byte, SecretKeySize)
	for i := range key {
		key[i] = byte(0xf0 + i%16) // '+' and '/' in standard base64, '-' and '_' in URL base64
	}
	for name, v := range map[string]string{
		"hex":                hex.EncodeToString(key),
		"hex upper case":     strings.ToUpper(hex.EncodeToString(key)),
		"base64":             base64.StdEncoding.EncodeToString(key),
		"base64 unpadded":    base64.RawStdEncoding.EncodeToString(key),
		"base64url":          base64.URLEncoding.EncodeToString(key),
		"base64url unpadded": base64.RawURLEncoding.EncodeToString(key),
	} {
		got, err := ParseSecretKey(v)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s %q: %x, %v", name, v, got, err)
		}
	}
	for name, v := range map[string]string{
		"31 bytes":          base64.StdEncoding.EncodeToString(key[:31]),
		"33 bytes":          base64.StdEncoding.EncodeToString(append(key, 1)),
		"63 hex digits":     hex.EncodeToString(key)[:63],
		"64 non-hex digits": strings.Repeat("g", 64),
		"a passphrase":      "correct horse battery staple",
	} {
		if got, err := ParseSecretKey(v); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("%s: %x, %v; want an error saying how to make a key", name, got, err)
		}
	}
}

func TestLoad_SecretKey(t *testing.T) {
	t.Parallel()
	const hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	c := mustLoad(t, []string{"--secret-key", hexKey}, nil, "")
	if want, _ := hex.DecodeString(hexKey); !bytes.Equal(c.SecretKey, want) {
		t.Fatalf("SecretKey = %x", c.SecretKey)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", c)
	b64 := base64.StdEncoding.EncodeToString(c.SecretKey)
	for name, out := range map[string]string{"String": c.String(), "%v": fmt.Sprintf("%v", c), "slog": logged.String()} {
		if strings.Contains(out, hexKey) || strings.Contains(out, b64) || !strings.Contains(out, "secret_key") {
			t.Errorf("%s: %s", name, out)
		}
	}
	if c := mustLoad(t, nil, nil, ""); c.SecretKey != nil {
		t.Errorf("SecretKey without the setting = %x, want nil", c.SecretKey)
	}

	_, err := Load(nil, env(map[string]string{"SECRET_KEY": "hunter2-is-my-key"}), "")
	if err == nil || !strings.Contains(err.Error(), "invalid SECRET_KEY (value hidden)") ||
		!strings.Contains(err.Error(), "openssl rand -base64 32") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("invalid key: %v", err)
	}
}

func TestLoad_BooleanFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		env      map[string]string
		want     bool
		wantArgs []string
	}{
		{[]string{"--insecure-no-auth"}, nil, true, nil},
		{[]string{"--insecure-no-auth", "serve"}, nil, true, []string{"serve"}},
		{[]string{"serve", "-insecure-no-auth"}, nil, true, []string{"serve"}},
		{[]string{"--insecure-no-auth=false"}, map[string]string{"INSECURE_NO_AUTH": "true"}, false, nil},
		{[]string{"--insecure-no-auth="}, map[string]string{"INSECURE_NO_AUTH": "true"}, true, nil},
		{nil, map[string]string{"INSECURE_NO_AUTH": "TRUE"}, true, nil},
		{nil, nil, false, nil},
	}
	for _, tt := range tests {
		c := mustLoad(t, tt.args, env(tt.env), "")
		if c.InsecureNoAuth != tt.want || !reflect.DeepEqual(c.Args, tt.wantArgs) {
			t.Errorf("Load(%q, %v): InsecureNoAuth %v, Args %q; want %v, %q", tt.args, tt.env, c.InsecureNoAuth, c.Args, tt.want, tt.wantArgs)
		}
	}
	c := mustLoad(t, []string{"--outbound-deny-private", "--outbound-allow-cidrs", "10.1.2.3", "--outbound-deny-cidrs=10.1.0.0/16,::1"}, nil, "")
	if !c.OutboundDenyPrivate ||
		!reflect.DeepEqual(c.OutboundAllow, []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32")}) ||
		!reflect.DeepEqual(c.OutboundDeny, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128")}) {
		t.Errorf("outbound settings: %v %v %v", c.OutboundDenyPrivate, c.OutboundAllow, c.OutboundDeny)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1":             true,
		"127.1.2.3":             true,
		"::1":                   true,
		"[::1]":                 true,
		"::ffff:127.0.0.1":      true,
		"localhost":             true,
		"LocalHost.":            true,
		"":                      false,
		"0.0.0.0":               false,
		"::":                    false,
		"10.0.0.1":              false,
		"192.168.1.10":          false,
		"fe80::1":               false,
		"example.com":           false,
		"localhost.example.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestConfig_CheckExposure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{}, true}, // the default HOST is 127.0.0.1
		{map[string]string{"HOST": "localhost"}, true},
		{map[string]string{"HOST": "::1"}, true},
		{map[string]string{"HOST": "0.0.0.0"}, false},
		{map[string]string{"HOST": "::"}, false},
		{map[string]string{"HOST": "192.168.1.10"}, false},
		{map[string]string{"HOST": "apicron.internal"}, false},
		{map[string]string{"HOST": "0.0.0.0", "API_TOKEN": "full-token-0123456789"}, true},
		{map[string]string{"HOST": "0.0.0.0", "API_READ_TOKEN": "read-token-0123456789"}, true},
		{map[string]string{"HOST": "0.0.0.0", "INSECURE_NO_AUTH": "true"}, true},
		{map[string]string{"HOST": "0.0.0.0", "INSECURE_NO_AUTH": "false"}, false},
	}
	for _, tt := range tests {
		c := mustLoad(t, nil, env(tt.env), "")
		err := c.CheckExposure()
		if (err == nil) != tt.ok {
			t.Errorf("%v: CheckExposure() = %v, want ok %v", tt.env, err, tt.ok)
		}
		if err != nil {
			for _, want := range []string{c.Addr(), "API_TOKEN", "--api-token", "Authorization: Bearer", "INSECURE_NO_AUTH=true", "127.0.0.1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("CheckExposure() = %q, lacks %q", err, want)
				}
			}
		}
	}
}

// TestConfig_APIHosts: unset, the API answers to the loopback names when
// HOST is loopback and to any host otherwise; set, to what it says.
func TestConfig_APIHosts(t *testing.T) {
	t.Parallel()
	loopback := []string{"localhost", "127.0.0.0/8", "::1"}
	for _, tt := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{}, loopback}, // the default HOST is 127.0.0.1
		{map[string]string{"HOST": "localhost"}, loopback},
		{map[string]string{"HOST": "::1"}, loopback},
		{map[string]string{"HOST": "127.0.0.2"}, loopback},
		{map[string]string{"HOST": "0.0.0.0", "API_TOKEN": "full-token-0123456789"}, nil},
		{map[string]string{"HOST": "192.168.1.10", "INSECURE_NO_AUTH": "true"}, nil},
		{map[string]string{"ALLOWED_HOSTS": "apicron.example.com, localhost"}, []string{"apicron.example.com", "localhost"}},
		{map[string]string{"ALLOWED_HOSTS": "*"}, []string{"*"}},
		{map[string]string{"HOST": "0.0.0.0", "API_TOKEN": "full-token-0123456789", "ALLOWED_HOSTS": "apicron.internal"}, []string{"apicron.internal"}},
	} {
		c := mustLoad(t, nil, env(tt.env), "")
		if got := c.APIHosts(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: APIHosts() = %q, want %q", tt.env, got, tt.want)
		}
	}
	c := mustLoad(t, []string{"--allowed-hosts", "apicron.example.com"}, nil, "")
	if !slices.Contains(c.NonDefault(), "ALLOWED_HOSTS") || slices.Contains(mustLoad(t, nil, nil, "").NonDefault(), "ALLOWED_HOSTS") {
		t.Errorf("NonDefault: %v with the setting, %v without", c.NonDefault(), mustLoad(t, nil, nil, "").NonDefault())
	}
}
