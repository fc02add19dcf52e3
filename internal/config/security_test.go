package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
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
