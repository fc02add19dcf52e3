package store

import (
	"encoding/json"
	"fmt"

	"github.com/apicron/apicron"
)

// A target's OAuth2 configuration and client certificate are stored as JSON
// objects in their columns ('' for none), the one secret of each (the client
// secret, the private key) sealed like a secret header value, under its own
// associated data so that neither can be swapped for another secret in the
// database. A queued job carries them in the same form.

var (
	oauth2SecretAD = []byte("apicron oauth2 client secret")
	clientKeyAD    = []byte("apicron client certificate key")
)

type oauth2JSON struct {
	TokenURL     string   `json:"token_url"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes,omitempty"`
	Audience     string   `json:"audience,omitempty"`
}

type clientCertJSON struct {
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
}

// sealSecret seals v with ad when the store has a key; a value still sealed
// (a ciphertext kept because this node could not open it) stays as it is.
func (s *sealer) sealSecret(v string, ad []byte) (string, error) {
	if s == nil || isSealed(v) {
		return v, nil
	}
	return s.seal(v, ad)
}

// openSecret opens v when it is sealed; one it cannot open stays as stored
// and ok is false.
func (s *sealer) openSecret(v string, ad []byte) (string, bool) {
	if !isSealed(v) {
		return v, true
	}
	plain, err := s.open(v, ad)
	if err != nil {
		return v, false
	}
	return plain, true
}

// encodeOAuth2 returns o as its column holds it.
func (s *sealer) encodeOAuth2(o *apicron.OAuth2) (string, error) {
	if o == nil {
		return "", nil
	}
	secret, err := s.sealSecret(o.ClientSecret, oauth2SecretAD)
	if err != nil {
		return "", fmt.Errorf("encrypt oauth2 client secret: %w", err)
	}
	raw, err := json.Marshal(oauth2JSON{TokenURL: o.TokenURL, ClientID: o.ClientID, ClientSecret: secret, Scopes: o.Scopes, Audience: o.Audience})
	return string(raw), err
}

// decodeOAuth2 reverses encodeOAuth2, opening the client secret; ok is false
// when it cannot (SECRET_KEY missing or wrong), the secret then left sealed.
func (s *sealer) decodeOAuth2(raw string) (o *apicron.OAuth2, ok bool, err error) {
	if raw == "" {
		return nil, true, nil
	}
	var j oauth2JSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return nil, false, err
	}
	o = &apicron.OAuth2{TokenURL: j.TokenURL, ClientID: j.ClientID, Scopes: j.Scopes, Audience: j.Audience}
	o.ClientSecret, ok = s.openSecret(j.ClientSecret, oauth2SecretAD)
	return o, ok, nil
}

// encodeClientCert returns c as its column holds it.
func (s *sealer) encodeClientCert(c *apicron.ClientCert) (string, error) {
	if c == nil {
		return "", nil
	}
	key, err := s.sealSecret(c.KeyPEM, clientKeyAD)
	if err != nil {
		return "", fmt.Errorf("encrypt client certificate key: %w", err)
	}
	raw, err := json.Marshal(clientCertJSON{CertPEM: c.CertPEM, KeyPEM: key})
	return string(raw), err
}

// decodeClientCert reverses encodeClientCert, as decodeOAuth2 does.
func (s *sealer) decodeClientCert(raw string) (c *apicron.ClientCert, ok bool, err error) {
	if raw == "" {
		return nil, true, nil
	}
	var j clientCertJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return nil, false, err
	}
	c = &apicron.ClientCert{CertPEM: j.CertPEM}
	c.KeyPEM, ok = s.openSecret(j.KeyPEM, clientKeyAD)
	return c, ok, nil
}

// decodeJobAuth decodes the OAuth2 configuration and client certificate of
// a job, stored form as the targets table or a queued job hold them. A
// secret that cannot be opened drops its configuration from the job and
// adds to decryptErr, so that the run fails unsent rather than going out
// unauthenticated. where says whose key is wanted, for the message.
func (s *sealer) decodeJobAuth(j *apicron.Job, oauth2, cert, where string) error {
	var ok bool
	var err error
	if j.OAuth2, ok, err = s.decodeOAuth2(oauth2); err != nil {
		return fmt.Errorf("decode oauth2: %w", err)
	} else if !ok {
		j.OAuth2 = nil
		j.DecryptError = joinDecrypt(j.DecryptError, "the oauth2 client secret cannot be decrypted: "+where)
	}
	if j.ClientCert, ok, err = s.decodeClientCert(cert); err != nil {
		return fmt.Errorf("decode client certificate: %w", err)
	} else if !ok {
		j.ClientCert = nil
		j.DecryptError = joinDecrypt(j.DecryptError, "the client certificate's key cannot be decrypted: "+where)
	}
	return nil
}

func joinDecrypt(prev, msg string) string {
	if prev == "" {
		return msg
	}
	return prev + "; " + msg
}
