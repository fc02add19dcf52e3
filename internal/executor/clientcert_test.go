package executor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a PEM certificate for cn signed by ca, and its PEM key.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, ips ...net.IP) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// TestClientCert: a server that requires a client certificate of its CA
// sees each target's own certificate, however the runs of two targets and
// of one without a certificate interleave on the same host; the one without
// fails, since no connection made with another target's certificate is
// lent to it.
func TestClientCert(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	serverCert, serverKey := ca.issue(t, "server", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	pair, err := tls.X509KeyPair([]byte(serverCert), []byte(serverKey))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The executor's own transport, trusting the test CA.
	e := New(Config{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}}})
	certA, keyA := ca.issue(t, "target-a", x509.ExtKeyUsageClientAuth)
	certB, keyB := ca.issue(t, "target-b", x509.ExtKeyUsageClientAuth)
	jobA, jobB, bare := newTestJob(srv.URL), newTestJob(srv.URL), newTestJob(srv.URL)
	jobA.ClientCert = &apicron.ClientCert{CertPEM: certA, KeyPEM: keyA}
	jobB.TargetID, jobB.ClientCert = 51, &apicron.ClientCert{CertPEM: certB, KeyPEM: keyB}
	bare.TargetID = 52
	for range 2 {
		for _, job := range []*apicron.Job{jobA, jobB, bare, jobA} {
			res := execute(t, e, job, 5*time.Second)
			if job == bare {
				if res.Status != apicron.ConnectionError || res.ErrorType != apicron.ErrTLS {
					t.Fatalf("a run without a client certificate: %s %s %q, want CONNECTION_ERROR tls", res.Status, res.ErrorType, res.ErrorMessage)
				}
				continue
			}
			if res.Status != apicron.Success {
				t.Fatalf("target %d: %s %s %s", job.TargetID, res.Status, res.ErrorType, res.ErrorMessage)
			}
		}
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := seen
		seen = nil
		return s
	}
	want := []string{"target-a", "target-b", "target-a", "target-a", "target-b", "target-a"}
	if got := take(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the server saw %q, want %q", got, want)
	}

	// A job whose certificate changed presents the new one.
	certC, keyC := ca.issue(t, "target-a-renewed", x509.ExtKeyUsageClientAuth)
	jobA.ClientCert = &apicron.ClientCert{CertPEM: certC, KeyPEM: keyC}
	if res := execute(t, e, jobA, 5*time.Second); res.Status != apicron.Success {
		t.Fatalf("after a renewal: %s %s", res.Status, res.ErrorMessage)
	}
	if got := take(); len(got) != 1 || got[0] != "target-a-renewed" {
		t.Fatalf("after a renewal the server saw %q", got)
	}
}
