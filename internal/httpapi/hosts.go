package httpapi

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostList is the parsed Config.AllowedHosts: the names the API answers to.
type hostList struct {
	any      bool            // "*", or no list at all: every host
	names    map[string]bool // exact names, lower case, without a final dot
	suffixes []string        // from "*.example.com": ".example.com"
	prefixes []netip.Prefix  // IP addresses and CIDR prefixes
}

// parseHostList parses AllowedHosts. Each entry is "*" (any host), a host
// name, "*." and a name (any name below it, not the name itself), an IP
// address (IPv6 with or without brackets) or a CIDR prefix; names compare
// case-insensitively and a final dot is ignored. An empty list allows any
// host.
func parseHostList(entries []string) (*hostList, error) {
	l := &hostList{any: len(entries) == 0, names: map[string]bool{}}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case e == "*":
			l.any = true
			continue
		case strings.Contains(e, "://"):
			return nil, fmt.Errorf("allowed host %q is a URL: list the host name alone, as in apicron.example.com", e)
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil || p.Addr().Zone() != "" {
				return nil, fmt.Errorf("allowed host %q is not a CIDR prefix nor a host name", e)
			}
			if p.Addr().Is4In6() {
				if p.Bits() < 96 {
					return nil, fmt.Errorf("allowed host %q mixes IPv4-mapped and other IPv6 addresses; write the IPv4 part as an IPv4 prefix", e)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96) // ::ffff:127.0.0.0/104 is 127.0.0.0/8
			}
			l.prefixes = append(l.prefixes, p.Masked())
			continue
		}
		if a, ok := parseHostAddr(e); ok {
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		if _, _, err := net.SplitHostPort(e); err == nil {
			return nil, fmt.Errorf("allowed host %q has a port: list names without one (the port is not checked)", e)
		}
		name := normalHost(e)
		wildcard := strings.HasPrefix(name, "*.")
		if wildcard {
			name = name[2:]
		}
		if !validHostName(name) {
			return nil, fmt.Errorf("allowed host %q is not a host name, *. and a name, an IP address or a CIDR prefix", e)
		}
		if wildcard {
			l.suffixes = append(l.suffixes, "."+name)
		} else {
			l.names[name] = true
		}
	}
	return l, nil
}

// parseHostAddr parses an IP address, IPv6 with or without brackets, and
// unmaps it: ::ffff:127.0.0.1 is 127.0.0.1.
func parseHostAddr(h string) (netip.Addr, bool) {
	if inner, ok := strings.CutPrefix(h, "["); ok {
		if h, ok = strings.CutSuffix(inner, "]"); !ok {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// normalHost is a host name in lower case without its final dot:
// "LocalHost." is "localhost", the same name.
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// validHostName reports whether name is made of DNS labels: letters,
// digits, hyphens and underscores (container and service names use them),
// separated by dots.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// allows reports whether the list allows a request's Host header (host,
// host:port, [IPv6]:port, or [IPv6]). An empty Host is allowed only when
// every host is.
func (l *hostList) allows(hostHeader string) bool {
	if l.any {
		return true
	}
	h := hostHeader
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if a, ok := parseHostAddr(h); ok {
		for _, p := range l.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	h = normalHost(h)
	if l.names[h] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}
