package executor

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/apicron/apicron"
)

// Policy decides which addresses the executor may connect to: the outbound
// (SSRF) policy. It is enforced when a connection is dialled, on the address
// actually dialled, so neither a host name that resolves (or re-resolves,
// DNS rebinding) to a denied address nor a redirect to one gets through:
// every redirect hop that needs a new connection dials again.
//
// An address is judged, after an IPv4-mapped IPv6 address is unmapped and
// any zone dropped, by the first of these that applies:
//
//  1. in a deny prefix (OUTBOUND_DENY_CIDRS): denied;
//  2. in an allow prefix (OUTBOUND_ALLOW_CIDRS): allowed;
//  3. in a built-in denied prefix: denied. Always: link-local
//     (169.254.0.0/16, fe80::/10) and cloud metadata addresses
//     (fd00:ec2::254, 100.100.100.200). With denyPrivate also loopback,
//     RFC 1918, CGNAT (100.64.0.0/10), unique local (fc00::/7) and the
//     unspecified addresses (0.0.0.0/8, ::);
//  4. anything else: allowed.
//
// So an explicit deny beats an explicit allow, and an explicit allow beats
// the built-in rules: allowing 10.1.2.3/32 with denyPrivate reaches that one
// private host.
//
// An IPv6 address that stands for an IPv4 one, and that is not explicitly
// allowed, is also judged by the IPv4 address it embeds (see embeddings):
// IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
// (64:ff9b::/96, and 64:ff9b:1::/48 at every position RFC 6052 allows,
// since the prefix length there is the network's choice), 6to4 (2002::/16)
// and Teredo (2001::/32, the client's address). The embedded address is
// denied by the same rules, explicit ones included, except 0.0.0.0/8: it
// means the local host only to the local stack, never through a gateway,
// and a NAT64 prefix padded with zeros would otherwise read as it.
//
// A Policy is immutable and safe for concurrent use.
type Policy struct {
	deny  []netip.Prefix
	allow []netip.Prefix
	rules []rule
}

// rule is a built-in denied prefix and what to call it in a message.
type rule struct {
	prefix netip.Prefix
	why    string
}

// defaultRules are denied whatever the settings say, unless allowed
// explicitly. The single metadata addresses come first so that a message
// names them rather than their wider range.
var defaultRules = []rule{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata, denied by default"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata, denied by default"},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata, denied by default"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, denied by default"},
	{netip.MustParsePrefix("fe80::/10"), "link-local, denied by default"},
}

// privateRules are denied too with denyPrivate (OUTBOUND_DENY_PRIVATE).
var privateRules = []rule{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("::1/128"), "loopback, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT), denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("fc00::/7"), "unique local, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified, denied by OUTBOUND_DENY_PRIVATE"},
	{netip.MustParsePrefix("::/128"), "unspecified, denied by OUTBOUND_DENY_PRIVATE"},
}

// embedding is an IPv6 form whose addresses stand for an IPv4 address: the
// prefix, and at which bytes of the address the IPv4 address is, XORed
// with xor.
type embedding struct {
	prefix netip.Prefix
	name   string
	at     [4]uint8
	xor    byte
}

// embeddings are the IPv6 forms that reach an IPv4 address: a translator, a
// tunnel or the local stack sends to the IPv4 address they embed.
var embeddings = []embedding{
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64", [4]uint8{12, 13, 14, 15}, 0},              // RFC 6052
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64", [4]uint8{6, 7, 9, 10}, 0},         // RFC 8215, a /48 prefix
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64", [4]uint8{7, 9, 10, 11}, 0},        // a /56 prefix
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64", [4]uint8{9, 10, 11, 12}, 0},       // a /64 prefix
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64", [4]uint8{12, 13, 14, 15}, 0},      // a /96 prefix
	{netip.MustParsePrefix("::/96"), "IPv4-compatible", [4]uint8{12, 13, 14, 15}, 0},           // RFC 4291, deprecated
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "IPv4-translated", [4]uint8{12, 13, 14, 15}, 0}, // RFC 2765
	{netip.MustParsePrefix("2002::/16"), "6to4", [4]uint8{2, 3, 4, 5}, 0},                      // RFC 3056
	{netip.MustParsePrefix("2001::/32"), "Teredo", [4]uint8{12, 13, 14, 15}, 0xff},             // RFC 4380, the client
}

// unspecified4 is 0.0.0.0/8, which embedded addresses are not judged by.
var unspecified4 = netip.MustParsePrefix("0.0.0.0/8")

// defaultPolicy is the policy of an Executor whose Config sets none.
var defaultPolicy = &Policy{rules: defaultRules}

// NewPolicy returns the policy with the given explicit allow and deny
// prefixes and, with denyPrivate, the private ranges denied too (see
// Policy). An IPv4-mapped prefix such as ::ffff:10.0.0.0/104 is taken as
// its IPv4 form. It fails on an invalid prefix.
func NewPolicy(allow, deny []netip.Prefix, denyPrivate bool) (*Policy, error) {
	p := &Policy{rules: defaultRules}
	if denyPrivate {
		p.rules = append(append([]rule(nil), defaultRules...), privateRules...)
	}
	var err error
	if p.allow, err = normalizePrefixes(allow); err != nil {
		return nil, fmt.Errorf("outbound allow list: %w", err)
	}
	if p.deny, err = normalizePrefixes(deny); err != nil {
		return nil, fmt.Errorf("outbound deny list: %w", err)
	}
	return p, nil
}

func normalizePrefixes(in []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid prefix %q", p)
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("prefix %s mixes IPv4-mapped and other IPv6 addresses; write the IPv4 part as an IPv4 prefix", p)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// BlockedError is a connection the outbound policy refused. Classify makes
// it FAILED with error type blocked; it is not retried.
type BlockedError struct {
	// Addr is the address that was to be dialled, unmapped, without zone.
	Addr netip.Addr
	// Prefix is the prefix of the rule that denied it.
	Prefix netip.Prefix
	// Why names the rule: "link-local, denied by default", say.
	Why string
}

// Error names the address and the rule; it never holds a URL.
func (e *BlockedError) Error() string {
	if !e.Prefix.IsValid() {
		return "blocked by the outbound policy: " + e.Why
	}
	return fmt.Sprintf("blocked by the outbound policy: %s is in %s (%s)", e.Addr, e.Prefix, e.Why)
}

// verdicts of judge.
const (
	allowedByDefault = iota
	allowedExplicitly
	denied
)

// judge applies the rules, in Policy's order, to an unmapped address.
func (p *Policy) judge(a netip.Addr) (int, netip.Prefix, string) {
	for _, d := range p.deny {
		if d.Contains(a) {
			return denied, d, "OUTBOUND_DENY_CIDRS"
		}
	}
	for _, al := range p.allow {
		if al.Contains(a) {
			return allowedExplicitly, al, ""
		}
	}
	for _, r := range p.rules {
		if r.prefix.Contains(a) {
			return denied, r.prefix, r.why
		}
	}
	return allowedByDefault, netip.Prefix{}, ""
}

// Check returns a *BlockedError if the policy denies connecting to addr, or
// nil. An invalid addr is denied.
func (p *Policy) Check(addr netip.Addr) error {
	if p == nil {
		p = defaultPolicy
	}
	a := addr.WithZone("").Unmap()
	if !a.IsValid() {
		return &BlockedError{Addr: a, Why: "not a valid IP address"}
	}
	v, prefix, why := p.judge(a)
	if v == denied {
		return &BlockedError{Addr: a, Prefix: prefix, Why: why}
	}
	if v == allowedByDefault && a.Is6() {
		b := a.As16()
		for _, e := range embeddings {
			if !e.prefix.Contains(a) {
				continue
			}
			v4 := netip.AddrFrom4([4]byte{b[e.at[0]] ^ e.xor, b[e.at[1]] ^ e.xor, b[e.at[2]] ^ e.xor, b[e.at[3]] ^ e.xor})
			if unspecified4.Contains(v4) {
				continue
			}
			if v, prefix, why := p.judge(v4); v == denied {
				return &BlockedError{Addr: a, Prefix: prefix, Why: why + ", via " + e.name + " " + v4.String()}
			}
		}
	}
	return nil
}

// Control is a net.Dialer Control function that enforces the policy on the
// address about to be connected to. Set it on the dialer of a transport
// given as Config.Transport to enforce the policy there too. An address it
// cannot read is denied: the check fails closed.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Why: fmt.Sprintf("cannot check %s address %q", network, address)}
	}
	return p.Check(ap.Addr())
}

// CheckURL refuses, with an EINVALID error on field url, a URL whose host is
// an IP address the policy denies, so that such a target is refused when it
// is saved rather than failing every run. Host names, hosts with template
// actions and URLs that do not parse pass: validation deals with the
// latter, and every connection is checked again when it is dialled.
func (p *Policy) CheckURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || strings.Contains(u.Host, "{{") {
		return nil
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	var be *BlockedError
	if errors.As(p.Check(addr), &be) {
		return apicron.Invalid("url", "is denied by the outbound policy: %s is in %s (%s)", be.Addr, be.Prefix, be.Why)
	}
	return nil
}
