package executor

import (
	"crypto/tls"
	"errors"
	"net/http"
	"sync"

	"github.com/apicron/apicron"
)

// certClientEntries bounds the cached clients of targets with a client
// certificate. They keep no idle connection, so one dropped costs a key
// parse and nothing else.
const certClientEntries = 256

// certClients holds an HTTP client per target with a client certificate,
// each on a transport of its own, keyed by target id and certificate digest
// (an edited certificate gets a new one).
//
// Why not the shared transport with tls.Config.GetClientCertificate chosen
// per request: the shared pool keys its connections by scheme and address
// alone, so a connection one target authenticated with its certificate
// would be reused for another target's request to the same host, which
// would then be sent as the first target. A transport per certificate keeps
// the connections, and so the identities, apart. Those transports keep no
// idle connections: the descriptors reserved for the calls to targets
// (MAX_CONCURRENT_JOBS) count the shared pool's idle connections only, and
// a few hundred small pools would overrun them. A TLS session cache keeps
// the reconnects cheap instead.
type certClients struct {
	base     *http.Transport // nil: the configured transport cannot present a certificate
	redirect func(*http.Request, []*http.Request) error
	mu       sync.Mutex
	m        map[int64]*certClient
}

type certClient struct {
	hash   string
	client *http.Client
	err    error // the key pair does not load
}

func newCertClients(rt http.RoundTripper, redirect func(*http.Request, []*http.Request) error) *certClients {
	base, _ := rt.(*http.Transport)
	return &certClients{base: base, redirect: redirect, m: make(map[int64]*certClient)}
}

// errNoCertTransport: Config.Transport is not an *http.Transport.
var errNoCertTransport = errors.New("the executor's transport cannot present a client certificate")

// client returns the HTTP client that presents c for target id.
func (cc *certClients) client(id int64, c *apicron.ClientCert) (*http.Client, error) {
	if cc.base == nil {
		return nil, errNoCertTransport
	}
	h := c.Hash()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if e, ok := cc.m[id]; ok && e.hash == h {
		return e.client, e.err
	}
	if old, ok := cc.m[id]; ok && old.client != nil {
		old.client.CloseIdleConnections()
	} else if !ok && len(cc.m) >= certClientEntries {
		for k := range cc.m { // any one: its target makes a new client next time
			delete(cc.m, k)
			break
		}
	}
	e := &certClient{hash: h}
	pair, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
	if err != nil {
		// Validated when saved; this is a key that no longer loads.
		e.err = errors.New("the target's client certificate does not load: " + err.Error())
	} else {
		t := cc.base.Clone()
		cfg := t.TLSClientConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		cfg.Certificates = []tls.Certificate{pair}
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
		t.TLSClientConfig = cfg
		t.DisableKeepAlives = true
		e.client = &http.Client{Transport: t, CheckRedirect: cc.redirect}
	}
	cc.m[id] = e
	return e.client, e.err
}
