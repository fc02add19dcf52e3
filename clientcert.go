package apicron

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"
)

// MaxClientCertBytes bounds each PEM of a client certificate: a chain of a
// few certificates, or a key, is a few KiB.
const MaxClientCertBytes = 64 << 10

// ClientCert is the TLS client certificate a target presents (mutual TLS):
// CertPEM is the PEM certificate chain, leaf first; KeyPEM the leaf's
// private key, write-only and encrypted at rest.
type ClientCert struct {
	CertPEM string
	KeyPEM  string
}

// ClientCertInfo is what the API shows of a client certificate's leaf.
type ClientCertInfo struct {
	Subject  string
	Issuer   string
	NotAfter time.Time
}

// parseChain returns the certificates of a PEM chain, leaf first.
func parseChain(certPEM string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(certPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, Invalid("client_cert.cert_pem", "holds a %q PEM block: it takes CERTIFICATE blocks only (the key goes in key_pem)", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, Invalid("client_cert.cert_pem", "certificate %d does not parse: %v", len(out), err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, Invalid("client_cert.cert_pem", "must hold at least one PEM CERTIFICATE block")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, Invalid("client_cert.cert_pem", "has text after its last PEM block that is not PEM")
	}
	return out, nil
}

// Validate checks that c's chain parses and, with checkKey, that its key is
// the leaf's. Without checkKey (the key is a stored ciphertext this node
// cannot open) the chain alone is checked.
func (c *ClientCert) Validate(checkKey bool) error {
	if len(c.CertPEM) > MaxClientCertBytes {
		return Invalid("client_cert.cert_pem", "must be at most %d bytes, got %d", MaxClientCertBytes, len(c.CertPEM))
	}
	if len(c.KeyPEM) > MaxClientCertBytes {
		return Invalid("client_cert.key_pem", "must be at most %d bytes, got %d", MaxClientCertBytes, len(c.KeyPEM))
	}
	if _, err := parseChain(c.CertPEM); err != nil {
		return err
	}
	if !checkKey {
		return nil
	}
	switch {
	case c.KeyPEM == MaskedValue:
		return Invalid("client_cert.key_pem", "is the mask %s, not a key: send the PEM key (the mask keeps a key only when the target already has one)", MaskedValue)
	case strings.TrimSpace(c.KeyPEM) == "":
		return Invalid("client_cert.key_pem", "must hold the certificate's private key, PEM encoded")
	}
	if _, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM)); err != nil {
		// The messages of crypto/tls name no key material.
		return Invalid("client_cert.key_pem", "is not the private key of the certificate: %v", err)
	}
	return nil
}

// Info describes c's leaf certificate; the zero value when it does not parse.
func (c *ClientCert) Info() ClientCertInfo {
	chain, err := parseChain(c.CertPEM)
	if err != nil {
		return ClientCertInfo{}
	}
	return ClientCertInfo{Subject: chain[0].Subject.String(), Issuer: chain[0].Issuer.String(), NotAfter: chain[0].NotAfter.UTC()}
}

// Hash is a digest of c, certificate and key: two configurations with the
// same hash present the same certificate.
func (c *ClientCert) Hash() string {
	h := sha256.New()
	h.Write([]byte(c.CertPEM))
	h.Write([]byte{0})
	h.Write([]byte(c.KeyPEM))
	return hex.EncodeToString(h.Sum(nil))
}
