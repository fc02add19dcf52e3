package executor

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestPolicy_Check(t *testing.T) {
	t.Parallel()
	def := mustPolicy(t, nil, nil, false)
	private := mustPolicy(t, nil, nil, true)
	carved := mustPolicy(t, prefixes("10.1.2.3/32", "169.254.169.254/32", "::ffff:192.168.7.0/120"), nil, true)
	denyWins := mustPolicy(t, prefixes("127.0.0.0/8"), prefixes("127.0.0.2/32", "2001:db8::/32"), false)

	tests := []struct {
		policy *Policy
		addr   string
		prefix string // of the denying rule; "" for allowed
	}{
		// The default policy: link-local and metadata only.
		{def, "169.254.169.254", "169.254.169.254/32"},
		{def, "169.254.1.1", "169.254.0.0/16"},
		{def, "::ffff:169.254.169.254", "169.254.169.254/32"}, // IPv4-mapped
		{def, "fe80::1", "fe80::/10"},
		{def, "fe80::1%eth0", "fe80::/10"},
		{def, "fd00:ec2::254", "fd00:ec2::254/128"},
		{def, "100.100.100.200", "100.100.100.200/32"},
		{def, "64:ff9b::a9fe:a9fe", "169.254.169.254/32"}, // NAT64 of the metadata address
		{def, "127.0.0.1", ""},
		{def, "::1", ""},
		{def, "10.0.0.1", ""},
		{def, "93.184.216.34", ""},
		{def, "2606:4700::1111", ""},
		{def, "64:ff9b::5db8:d822", ""},
		{def, "fd00:ec2::253", ""},
		{def, "100.100.100.201", ""},

		// OUTBOUND_DENY_PRIVATE.
		{private, "127.0.0.1", "127.0.0.0/8"},
		{private, "127.255.0.9", "127.0.0.0/8"},
		{private, "::1", "::1/128"},
		{private, "::ffff:127.0.0.1", "127.0.0.0/8"},
		{private, "10.9.8.7", "10.0.0.0/8"},
		{private, "172.16.0.1", "172.16.0.0/12"},
		{private, "172.31.255.255", "172.16.0.0/12"},
		{private, "172.32.0.1", ""},
		{private, "192.168.1.1", "192.168.0.0/16"},
		{private, "100.64.0.1", "100.64.0.0/10"},
		{private, "100.128.0.1", ""},
		{private, "fc00::1", "fc00::/7"},
		{private, "fd12:3456::1", "fc00::/7"},
		{private, "0.0.0.0", "0.0.0.0/8"},
		{private, "::", "::/128"},
		{private, "64:ff9b::7f00:1", "127.0.0.0/8"},
		{private, "169.254.169.254", "169.254.169.254/32"},
		{private, "8.8.8.8", ""},

		// An explicit allow beats the built-in rules.
		{carved, "10.1.2.3", ""},
		{carved, "10.1.2.4", "10.0.0.0/8"},
		{carved, "169.254.169.254", ""},
		{carved, "169.254.169.253", "169.254.0.0/16"},
		{carved, "192.168.7.9", ""}, // the mapped prefix is taken as 192.168.7.0/24
		{carved, "192.168.8.9", "192.168.0.0/16"},

		// An explicit deny beats an explicit allow.
		{denyWins, "127.0.0.1", ""},
		{denyWins, "127.0.0.2", "127.0.0.2/32"},
		{denyWins, "2001:db8::5", "2001:db8::/32"},
	}
	for _, tt := range tests {
		err := tt.policy.Check(netip.MustParseAddr(tt.addr))
		if tt.prefix == "" {
			if err != nil {
				t.Errorf("Check(%s) = %v, want allowed", tt.addr, err)
			}
			continue
		}
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Errorf("Check(%s) = %v, want a *BlockedError", tt.addr, err)
			continue
		}
		if be.Prefix.String() != tt.prefix || be.Why == "" {
			t.Errorf("Check(%s) = %v, want denied by %s", tt.addr, err, tt.prefix)
		}
		if be.Addr.Is4In6() || be.Addr.Zone() != "" || !strings.Contains(err.Error(), be.Addr.String()) {
			t.Errorf("Check(%s) = %v: want the unmapped address, without zone, in the message", tt.addr, err)
		}
	}
	if err := (*Policy)(nil).Check(netip.MustParseAddr("169.254.169.254")); err == nil {
		t.Errorf("a nil policy allows the metadata address; want the default policy")
	}
	if err := def.Check(netip.Addr{}); err == nil || err.Error() != "blocked by the outbound policy: not a valid IP address" {
		t.Errorf("Check(invalid address) = %v, want denied", err)
	}
	if err := def.Control("unix", "/run/x.sock", nil); err == nil || !strings.Contains(err.Error(), `cannot check unix address "/run/x.sock"`) {
		t.Errorf("Control(unix socket) = %v, want denied: the check fails closed", err)
	}
}

// embeddedForms returns every IPv6 notation that stands for v4, by name:
// the ones the policy must judge by the IPv4 address they embed.
func embeddedForms(v4 netip.Addr) map[string]netip.Addr {
	b := v4.As4()
	form := func(head []byte, at [4]int, xor byte, tail map[int]byte) netip.Addr {
		var a [16]byte
		copy(a[:], head)
		for i, j := range at {
			a[j] = b[i] ^ xor
		}
		for j, v := range tail {
			a[j] = v
		}
		return netip.AddrFrom16(a)
	}
	nat64 := []byte{0, 0x64, 0xff, 0x9b}
	local := []byte{0, 0x64, 0xff, 0x9b, 0, 1}
	return map[string]netip.Addr{
		"IPv4-compatible": form(nil, [4]int{12, 13, 14, 15}, 0, nil),
		"IPv4-translated": form([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, [4]int{12, 13, 14, 15}, 0, nil),
		"NAT64":           form(nat64, [4]int{12, 13, 14, 15}, 0, nil),
		"local NAT64 /48": form(local, [4]int{6, 7, 9, 10}, 0, map[int]byte{15: 1}),
		"local NAT64 /56": form(local, [4]int{7, 9, 10, 11}, 0, map[int]byte{6: 0x12}),
		"local NAT64 /64": form(local, [4]int{9, 10, 11, 12}, 0, map[int]byte{6: 0x12, 7: 0x34}),
		"local NAT64 /96": form(local, [4]int{12, 13, 14, 15}, 0, map[int]byte{6: 0x12, 7: 0x34, 9: 0x56, 11: 0x78}),
		"6to4":            form([]byte{0x20, 0x02}, [4]int{2, 3, 4, 5}, 0, map[int]byte{15: 1}),
		"Teredo":          form([]byte{0x20, 0x01, 0, 0, 65, 54, 227, 120, 0x80, 0}, [4]int{12, 13, 14, 15}, 0xff, map[int]byte{10: 0xf2, 11: 0x27}),
	}
}

// TestPolicy_EmbeddedIPv4: every IPv6 notation of a denied IPv4 address is
// denied by the IPv4 address's rule, and one of an allowed address is not.
func TestPolicy_EmbeddedIPv4(t *testing.T) {
	t.Parallel()
	def := mustPolicy(t, nil, nil, false)
	private := mustPolicy(t, nil, nil, true)
	carved := mustPolicy(t, prefixes("10.1.2.3/32"), prefixes("203.0.113.0/24"), true)
	tests := []struct {
		policy *Policy
		v4     string
		prefix string // of the denying rule; "" for allowed
	}{
		{def, "169.254.169.254", "169.254.169.254/32"},
		{private, "169.254.169.254", "169.254.169.254/32"},
		{def, "169.254.1.1", "169.254.0.0/16"},
		{def, "100.100.100.200", "100.100.100.200/32"},
		{def, "10.0.0.1", ""},
		{private, "10.0.0.1", "10.0.0.0/8"},
		{private, "127.0.0.1", "127.0.0.0/8"},
		{private, "192.168.1.1", "192.168.0.0/16"},
		{private, "93.184.216.34", ""},
		{carved, "10.1.2.3", ""},                  // the IPv4 address is allowed explicitly
		{carved, "203.0.113.9", "203.0.113.0/24"}, // and denied explicitly
	}
	for _, tt := range tests {
		for name, a := range embeddedForms(netip.MustParseAddr(tt.v4)) {
			err := tt.policy.Check(a)
			if tt.prefix == "" {
				if err != nil {
					t.Errorf("%s %s (%s): %v, want allowed", name, a, tt.v4, err)
				}
				continue
			}
			var be *BlockedError
			if !errors.As(err, &be) || be.Prefix.String() != tt.prefix {
				t.Errorf("%s %s (%s): %v, want denied by %s", name, a, tt.v4, err, tt.prefix)
				continue
			}
			if want := fmt.Sprintf("blocked by the outbound policy: %s is in %s (", a, tt.prefix); !strings.HasPrefix(err.Error(), want) ||
				!strings.HasSuffix(err.Error(), ", via "+strings.Split(name, " /")[0]+" "+tt.v4+")") {
				t.Errorf("%s: message %q, want the address, the rule and the embedded %s", name, err, tt.v4)
			}
		}
	}
	// What no IPv4 address is read from: the loopback and unspecified IPv6
	// addresses themselves, a NAT64 prefix padded with zeros, documentation.
	for _, s := range []string{"::1", "::", "64:ff9b:1::5db8:d822", "2001:db8::a9fe:a9fe", "2606:4700::1111"} {
		if err := def.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed by default", s, err)
		}
	}
	if err := private.Check(netip.MustParseAddr("64:ff9b:1::5db8:d822")); err != nil {
		t.Errorf("a public address through a local NAT64 /96 with deny-private: %v, want allowed", err)
	}
}

func TestPolicy_Messages(t *testing.T) {
	t.Parallel()
	p := mustPolicy(t, nil, prefixes("203.0.113.0/24"), true)
	for addr, want := range map[string]string{
		"169.254.169.254": "blocked by the outbound policy: 169.254.169.254 is in 169.254.169.254/32 (cloud metadata, denied by default)",
		"169.254.1.2":     "blocked by the outbound policy: 169.254.1.2 is in 169.254.0.0/16 (link-local, denied by default)",
		"127.0.0.1":       "blocked by the outbound policy: 127.0.0.1 is in 127.0.0.0/8 (loopback, denied by OUTBOUND_DENY_PRIVATE)",
		"203.0.113.9":     "blocked by the outbound policy: 203.0.113.9 is in 203.0.113.0/24 (OUTBOUND_DENY_CIDRS)",
	} {
		if err := p.Check(netip.MustParseAddr(addr)); err == nil || err.Error() != want {
			t.Errorf("Check(%s) = %v, want %q", addr, err, want)
		}
	}
}

func TestNewPolicy_Errors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		allow, deny []netip.Prefix
	}{
		{"invalid prefix", []netip.Prefix{{}}, nil},
		{"mapped prefix wider than IPv4", nil, prefixes("::ffff:0:0/90")},
	} {
		if _, err := NewPolicy(tt.allow, tt.deny, false); err == nil {
			t.Errorf("%s: NewPolicy succeeded, want an error", tt.name)
		}
	}
	// Prefixes with host bits set are masked, not refused.
	p := mustPolicy(t, nil, []netip.Prefix{netip.MustParsePrefix("203.0.113.77/24")}, false)
	if err := p.Check(netip.MustParseAddr("203.0.113.1")); err == nil {
		t.Errorf("deny 203.0.113.77/24 does not deny 203.0.113.1")
	}
}

func TestPolicy_CheckURL(t *testing.T) {
	t.Parallel()
	def := mustPolicy(t, nil, nil, false)
	for _, tt := range []struct {
		url    string
		denied bool
	}{
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://169.254.169.254:80/", true},
		{" https://169.254.169.254/?key=abc ", true},
		{"http://[::ffff:169.254.169.254]/", true},
		{"http://[fe80::1%25eth0]:8080/", true},
		{"http://[fd00:ec2::254]/", true},
		{"http://100.100.100.200/", true},
		{"http://[::169.254.169.254]/", true},                    // IPv4-compatible
		{"http://[::ffff:0:169.254.169.254]/", true},             // IPv4-translated
		{"http://[64:ff9b::169.254.169.254]/", true},             // NAT64
		{"http://[64:ff9b:1::169.254.169.254]/", true},           // local NAT64
		{"http://[2002:a9fe:a9fe::1]/", true},                    // 6to4
		{"http://[2001:0:4136:e378:8000:f227:5601:5601]/", true}, // Teredo, client 169.254.169.254
		{"http://[::10.0.0.1]/", false},                          // private: denied only with deny-private
		{"http://169.254.169.254/{{.RunID}}", true},              // the host has no action
		{"http://127.0.0.1:8080/", false},
		{"http://metadata.google.internal/", false}, // a name: checked when dialled
		{"http://{{.ScheduleName}}/", false},
		{"http://169.254.169.254{{if false}}.example.com{{end}}/", false}, // does not parse: dial time
		{"http://2852039166/", false},                                     // not an IP literal to netip: dial time
		{"not a url %zz", false},
		{"", false},
	} {
		err := def.CheckURL(tt.url)
		if (err != nil) != tt.denied {
			t.Errorf("CheckURL(%q) = %v, want denied %v", tt.url, err, tt.denied)
			continue
		}
		if err == nil {
			continue
		}
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "url" {
			t.Errorf("CheckURL(%q) = %v, want EINVALID on url", tt.url, err)
		}
		if msg := apicron.ErrorMessage(err); strings.Contains(msg, "://") || strings.Contains(msg, "meta-data") || strings.Contains(msg, "key=") {
			t.Errorf("CheckURL(%q): message %q repeats the URL", tt.url, msg)
		}
	}
	private := mustPolicy(t, prefixes("127.0.0.1/32"), nil, true)
	if err := private.CheckURL("http://127.0.0.1:9/"); err != nil {
		t.Errorf("explicitly allowed 127.0.0.1: %v", err)
	}
	if err := private.CheckURL("http://127.0.0.2:9/"); err == nil {
		t.Errorf("127.0.0.2 with deny-private passed CheckURL")
	}
	if err := private.CheckURL("http://[64:ff9b::10.0.0.1]/"); err == nil {
		t.Errorf("NAT64 of 10.0.0.1 with deny-private passed CheckURL")
	}
}

// listenOn returns a listener on addr, or skips the test where the system
// does not have it (127.0.0.2 outside Linux, say).
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	return ln
}

// countingServer starts a server on ln that counts its requests and answers with h.
func countingServer(t *testing.T, ln net.Listener, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// checkBlocked checks a run the outbound policy stopped: FAILED blocked, in
// one attempt however many retries were allowed, with a message that names
// addr and no URL.
func checkBlocked(t *testing.T, res apicron.RunResult, addr string) {
	t.Helper()
	if res.Status != apicron.Failed || res.ErrorType != apicron.ErrBlocked {
		t.Fatalf("status %s, error type %q (%s), want FAILED blocked", res.Status, res.ErrorType, res.ErrorMessage)
	}
	if len(res.Attempts) != 1 {
		t.Errorf("%d attempts, want 1: blocked is not retried", len(res.Attempts))
	}
	msg := res.ErrorMessage
	if !strings.HasPrefix(msg, "blocked by the outbound policy: "+addr+" is in ") || strings.Contains(msg, "://") || strings.Contains(msg, "secret") {
		t.Errorf("error message %q: want the address %s and the rule, no URL", msg, addr)
	}
}

func TestExecute_Blocked(t *testing.T) {
	t.Parallel()

	t.Run("metadata address by default", func(t *testing.T) {
		t.Parallel()
		e := New(Config{})
		job := newTestJob("http://169.254.169.254/latest/meta-data/?secret=1")
		job.MaxRetries = 3
		res := execute(t, e, job, time.Second)
		checkBlocked(t, res, "169.254.169.254")
		if !strings.Contains(res.ErrorMessage, "cloud metadata") || res.StatusCode != nil {
			t.Errorf("got %q, status code %v: want the metadata rule and no response", res.ErrorMessage, res.StatusCode)
		}
	})

	t.Run("the metadata address in IPv6 notations", func(t *testing.T) {
		t.Parallel()
		e := New(Config{})
		for _, url := range []string{"http://[::169.254.169.254]/latest/meta-data/?secret=1", "http://[64:ff9b:1::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/"} {
			res := execute(t, e, newTestJob(url), time.Second)
			host := url[len("http://["):strings.Index(url, "]")]
			checkBlocked(t, res, netip.MustParseAddr(host).String())
			if !strings.Contains(res.ErrorMessage, "cloud metadata") || !strings.Contains(res.ErrorMessage, "169.254.169.254)") {
				t.Errorf("%s: %q, want the metadata rule via the embedded address", url, res.ErrorMessage)
			}
		}
	})

	t.Run("a name that resolves to a denied address", func(t *testing.T) {
		t.Parallel()
		ln := listenOn(t, "127.0.0.1:0")
		srv, hits := countingServer(t, ln, func(w http.ResponseWriter, r *http.Request) {})
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		e := New(Config{Policy: mustPolicy(t, nil, nil, true)})
		res := execute(t, e, newTestJob(fmt.Sprintf("http://localhost:%d/secret", port)), 5*time.Second)
		if res.ErrorType == apicron.ErrDNS {
			t.Skipf("localhost does not resolve here: %s", res.ErrorMessage)
		}
		if res.Status != apicron.Failed || res.ErrorType != apicron.ErrBlocked {
			t.Fatalf("status %s %q (%s), want FAILED blocked", res.Status, res.ErrorType, res.ErrorMessage)
		}
		if !strings.Contains(res.ErrorMessage, "loopback, denied by OUTBOUND_DENY_PRIVATE") || strings.Contains(res.ErrorMessage, "localhost") {
			t.Errorf("error message %q: want the loopback rule, not the URL's host", res.ErrorMessage)
		}
		if hits.Load() != 0 {
			t.Errorf("the server got %d requests, want none", hits.Load())
		}
		// The same server is reachable once its exact address is allowed.
		allowed := New(Config{Policy: mustPolicy(t, prefixes("127.0.0.1/32", "::1/128"), nil, true)})
		if res := execute(t, allowed, newTestJob(fmt.Sprintf("http://localhost:%d/", port)), 5*time.Second); res.Status != apicron.Success {
			t.Errorf("with localhost allowed: %s %s, want SUCCESS", res.Status, res.ErrorMessage)
		}
	})

	t.Run("a redirect from an allowed host to a denied one", func(t *testing.T) {
		t.Parallel()
		denied, deniedHits := countingServer(t, listenOn(t, "127.0.0.2:0"), func(w http.ResponseWriter, r *http.Request) {})
		first, firstHits := countingServer(t, listenOn(t, "127.0.0.1:0"), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, denied.URL+"/internal?secret=1", http.StatusFound)
		})
		e := New(Config{Policy: mustPolicy(t, prefixes("127.0.0.1/32"), nil, true)})
		job := newTestJob(first.URL + "/start")
		job.MaxRetries = 2
		res := execute(t, e, job, 5*time.Second)
		checkBlocked(t, res, "127.0.0.2")
		if firstHits.Load() != 1 || deniedHits.Load() != 0 {
			t.Errorf("allowed server got %d requests, denied one %d: want 1 and 0", firstHits.Load(), deniedHits.Load())
		}
		if res.Request.URL != first.URL+"/start" {
			t.Errorf("request URL %q, want the target's", res.Request.URL)
		}
	})

	t.Run("a redirect to the metadata address", func(t *testing.T) {
		t.Parallel()
		first, _ := countingServer(t, listenOn(t, "127.0.0.1:0"), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/", http.StatusTemporaryRedirect)
		})
		res := execute(t, New(Config{}), newTestJob(first.URL), 5*time.Second)
		checkBlocked(t, res, "169.254.169.254")
	})

	t.Run("explicit deny beats allow", func(t *testing.T) {
		t.Parallel()
		srv, hits := countingServer(t, listenOn(t, "127.0.0.1:0"), func(w http.ResponseWriter, r *http.Request) {})
		e := New(Config{Policy: mustPolicy(t, prefixes("127.0.0.0/8"), prefixes("127.0.0.1/32"), true)})
		res := execute(t, e, newTestJob(srv.URL), 5*time.Second)
		checkBlocked(t, res, "127.0.0.1")
		if !strings.Contains(res.ErrorMessage, "OUTBOUND_DENY_CIDRS") || hits.Load() != 0 {
			t.Errorf("message %q, %d requests: want the deny list named and no request", res.ErrorMessage, hits.Load())
		}
	})
}

func TestClassify_Blocked(t *testing.T) {
	t.Parallel()
	be := &BlockedError{Addr: netip.MustParseAddr("10.0.0.1"), Prefix: netip.MustParsePrefix("10.0.0.0/8"), Why: "private"}
	err := fmt.Errorf("get: %w", &net.OpError{Op: "dial", Net: "tcp", Err: be})
	if st, typ := Classify(err); st != apicron.Failed || typ != apicron.ErrBlocked {
		t.Errorf("Classify = %s %s, want FAILED blocked (not a connection error)", st, typ)
	}
	if msg := describe(err, apicron.ErrBlocked, 0, false); msg != be.Error() {
		t.Errorf("describe = %q, want %q", msg, be.Error())
	}
}

// FuzzPolicyCheck checks the policy against the standard library's own
// classification of addresses, for any 16 bytes (shorter inputs padded) read
// as an IPv6 address, IPv4-mapped or not: the mapped and unmapped forms are
// judged alike, link-local is always denied, and with deny-private so are
// loopback, private and unspecified addresses, unless allowed explicitly;
// and every IPv6 notation that embeds a denied IPv4 address (the last 4
// bytes, read as one) is denied.
func FuzzPolicyCheck(f *testing.F) {
	f.Add(netip.MustParseAddr("::ffff:169.254.169.254").AsSlice(), false, "")
	f.Add(netip.MustParseAddr("fe80::1").AsSlice(), true, "fe80::/64")
	f.Add(netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(), true, "10.0.0.0/24")
	f.Add(netip.MustParseAddr("64:ff9b::7f00:1").AsSlice(), true, "")
	f.Add(netip.MustParseAddr("::a9fe:a9fe").AsSlice(), false, "")
	f.Add(netip.MustParseAddr("2002:a00:1::").AsSlice(), true, "10.0.0.0/16")
	f.Add(netip.MustParseAddr("2001:0:4136:e378:8000:f227:f5ff:fffe").AsSlice(), true, "")
	f.Fuzz(func(t *testing.T, b []byte, denyPrivate bool, allowCIDR string) {
		var b16 [16]byte
		copy(b16[:], b) // any input: short ones are padded with zeros
		var allow []netip.Prefix
		if p, err := netip.ParsePrefix(allowCIDR); err == nil {
			allow = append(allow, p)
		}
		p, err := NewPolicy(allow, nil, denyPrivate)
		if err != nil {
			return
		}
		a := netip.AddrFrom16(b16)
		// Every IPv6 notation of a denied IPv4 address (the last 4 bytes)
		// is denied, unless that notation is allowed explicitly; 0.0.0.0/8
		// is not read from them.
		if v4 := netip.AddrFrom4([4]byte(b16[12:])); p.Check(v4) != nil && !unspecified4.Contains(v4) {
			for name, f := range embeddedForms(v4) {
				if p.Check(f) == nil && !slices.ContainsFunc(p.allow, func(al netip.Prefix) bool { return al.Contains(f) }) {
					t.Fatalf("%s %s of denied %s (deny-private %v, allow %v) is allowed", name, f, v4, denyPrivate, p.allow)
				}
			}
		}
		errA := p.Check(a)
		if errU := p.Check(a.Unmap()); (errA == nil) != (errU == nil) {
			t.Fatalf("%s is %v but %s is %v", a, errA, a.Unmap(), errU)
		}
		u := a.Unmap()
		explicit := false
		for _, al := range p.allow {
			if al.Contains(u) {
				explicit = true
			}
		}
		if explicit {
			if errA != nil {
				t.Fatalf("%s is explicitly allowed but %v", a, errA)
			}
			return
		}
		mustDeny := u.IsLinkLocalUnicast() ||
			(denyPrivate && (u.IsLoopback() || u.IsPrivate() || u.IsUnspecified()))
		if mustDeny && errA == nil {
			t.Fatalf("%s (deny-private %v) is allowed", a, denyPrivate)
		}
		if errA != nil {
			var be *BlockedError
			if !errors.As(errA, &be) || !strings.Contains(errA.Error(), u.String()) {
				t.Fatalf("Check(%s) = %v: want a *BlockedError naming %s", a, errA, u)
			}
		}
	})
}

// FuzzPolicyCheckURL checks that CheckURL never panics, refuses only with an
// EINVALID error on url whose message repeats no URL, and agrees with Check
// on every URL whose host is an IP literal.
func FuzzPolicyCheckURL(f *testing.F) {
	f.Add("http://169.254.169.254/latest/meta-data/")
	f.Add("http://[::ffff:a9fe:a9fe]:80/?token=secret")
	f.Add("https://[fe80::1%25en0]/")
	f.Add("http://{{.ScheduleName}}.example.com/")
	f.Add("http://127.0.0.1:8080/x")
	p := mustPolicy(f, nil, nil, true)
	f.Fuzz(func(t *testing.T, raw string) {
		err := p.CheckURL(raw)
		if err != nil {
			if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != "url" {
				t.Fatalf("CheckURL(%q) = %v, want EINVALID on url", raw, err)
			}
			if msg := apicron.ErrorMessage(err); strings.Contains(msg, "://") {
				t.Fatalf("CheckURL(%q): message %q repeats the URL", raw, msg)
			}
		}
		u, perr := url.Parse(strings.TrimSpace(raw))
		if perr != nil || strings.Contains(u.Host, "{{") {
			if err != nil {
				t.Fatalf("CheckURL(%q) = %v for a URL whose host it cannot know", raw, err)
			}
			return
		}
		if addr, aerr := netip.ParseAddr(u.Hostname()); aerr == nil {
			if (p.Check(addr) == nil) != (err == nil) {
				t.Fatalf("CheckURL(%q) = %v but Check(%s) = %v", raw, err, addr, p.Check(addr))
			}
		}
	})
}
