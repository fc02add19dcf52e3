package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apicron/apicron"
)

// SecretKeySize is the length of Config.SecretKey: an AES-256 key.
const SecretKeySize = 32

// sealedPrefix marks a header value stored encrypted: sealedPrefix, then
// base64(nonce | AES-256-GCM ciphertext and tag). A value without it is
// clear text, so a database written before the key was set still reads; its
// values are encrypted the next time their target is written.
const sealedPrefix = "enc:v1:"

// sealer encrypts and decrypts header values with the store's secret key.
// A nil *sealer has no key: it stores clear text and opens nothing.
type sealer struct{ aead cipher.AEAD }

// newSealer returns the sealer of key, nil for no key.
func newSealer(key []byte) (*sealer, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", SecretKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block) // 12-byte nonces
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// headerAD is the associated data of header name's value: a ciphertext
// opens only under the header it was sealed for, so values cannot be
// swapped between headers in the database. Header names compare
// case-insensitively, and so does this.
func headerAD(name string) []byte { return []byte("apicron header " + strings.ToLower(name)) }

// jobHeadersAD is the associated data of a queued job's sealed headers.
var jobHeadersAD = []byte("apicron job headers")

// isSealed reports whether a stored value is encrypted.
func isSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

func (s *sealer) seal(plain string, ad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), ad)
	return sealedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// errCannotOpen is returned for a sealed value without a key, with another
// key, or damaged.
var errCannotOpen = errors.New("cannot be decrypted")

func (s *sealer) open(v string, ad []byte) (string, error) {
	if s == nil {
		return "", errCannotOpen
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, sealedPrefix))
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", errCannotOpen
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], ad)
	if err != nil {
		return "", errCannotOpen
	}
	return string(plain), nil
}

// sealHeaders returns the stored form of t's headers: with a key, the
// value of every secret header encrypted, whatever it starts with. A value
// from a client is never taken for ciphertext: one that began with
// sealedPrefix was stored in clear, then read as a ciphertext no key opens,
// and every run of its target failed. The values in kept (by header name)
// are the only ones stored as they are: ciphertexts the store could not
// decrypt when it read the target, carried over for the key that can.
// Without a key the values are stored in clear, and a secret value that
// would read as ciphertext is refused.
func (s *sealer) sealHeaders(t *apicron.Target, kept map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(t.Headers))
	for name, v := range t.Headers {
		if c, ok := kept[name]; (ok && c == v) || !t.IsSecretHeader(name) {
			out[name] = v
			continue
		}
		if s == nil {
			if isSealed(v) {
				return nil, apicron.Invalid("headers."+name, "starts with %s, which marks a value encrypted with SECRET_KEY, "+
					"and SECRET_KEY is not set: set it to store this value (encrypted)", sealedPrefix)
			}
			out[name] = v
			continue
		}
		sealed, err := s.seal(v, headerAD(name))
		if err != nil {
			return nil, err
		}
		out[name] = sealed
	}
	return out, nil
}

// openHeaders decrypts the sealed values of t's secret headers in place.
// Values that cannot be decrypted are left as stored, and their header
// names returned, sorted. Clear values, and the values of headers that are
// not secret, are left alone.
func (s *sealer) openHeaders(t *apicron.Target) []string {
	var failed []string
	for name, v := range t.Headers {
		if !isSealed(v) || !t.IsSecretHeader(name) {
			continue
		}
		plain, err := s.open(v, headerAD(name))
		if err != nil {
			failed = append(failed, name)
			continue
		}
		t.Headers[name] = plain
	}
	slices.Sort(failed)
	return failed
}

// decryptError is the message of a run whose secret headers could not be
// decrypted.
func decryptError(names []string) string {
	if len(names) == 1 {
		return "secret header " + names[0] + " cannot be decrypted: SECRET_KEY missing or wrong"
	}
	return "secret headers " + strings.Join(names, ", ") + " cannot be decrypted: SECRET_KEY missing or wrong"
}

// decodeJobHeaders decodes a target's stored headers and secret header
// names (JSON) into a job's headers, decrypted. A value that cannot be
// decrypted is emptied and named in the returned message, which becomes the
// job's DecryptError: the run then fails without sending anything rather
// than sending ciphertext.
func (s *sealer) decodeJobHeaders(headers, secret string) (map[string]string, []string, string, error) {
	t := apicron.Target{}
	if err := json.Unmarshal([]byte(headers), &t.Headers); err != nil {
		return nil, nil, "", err
	}
	if err := json.Unmarshal([]byte(secret), &t.SecretHeaders); err != nil {
		return nil, nil, "", err
	}
	failed := s.openHeaders(&t)
	if len(failed) == 0 {
		return t.Headers, t.SecretHeaders, "", nil
	}
	for _, name := range failed {
		t.Headers[name] = ""
	}
	return t.Headers, t.SecretHeaders, decryptError(failed), nil
}

// sealJobHeaders returns a job's headers as they wait in runs.job: with a
// key, the whole map as JSON, encrypted, so no secret waits there in clear.
func (s *sealer) sealJobHeaders(h map[string]string) (string, error) {
	if s == nil {
		return "", nil
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	return s.seal(string(raw), jobHeadersAD)
}

// openJobHeaders reverses sealJobHeaders.
func (s *sealer) openJobHeaders(sealed string) (map[string]string, error) {
	plain, err := s.open(sealed, jobHeadersAD)
	if err != nil {
		return nil, err
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(plain), &h); err != nil {
		return nil, err
	}
	return h, nil
}

// signingAD binds a sealed signing secret to its use.
var signingAD = []byte("apicron signing secret")

// openSigning decrypts the sealed signing secrets of list in place and
// reports whether it could open them all; one it cannot stays as stored.
func (s *sealer) openSigning(list []string) bool {
	ok := true
	for i, v := range list {
		if !isSealed(v) {
			continue
		}
		plain, err := s.open(v, signingAD)
		if err != nil {
			ok = false
			continue
		}
		list[i] = plain
	}
	return ok
}

// sealSigning returns signing secrets as the signing_secrets column holds
// them: JSON, each value encrypted when the store has a key (a ciphertext it
// could not open is kept as it is), "" for none.
func (s *sealer) sealSigning(list []string) (string, error) {
	if len(list) == 0 {
		return "", nil
	}
	out := make([]string, len(list))
	for i, v := range list {
		if s == nil || isSealed(v) {
			out[i] = v
			continue
		}
		sealed, err := s.seal(v, signingAD)
		if err != nil {
			return "", err
		}
		out[i] = sealed
	}
	raw, err := json.Marshal(out)
	return string(raw), err
}

// withoutSealed returns list without the values still encrypted: those a
// target read without the key that sealed them, which no validation can read.
func withoutSealed(list []string) []string {
	var out []string
	for _, v := range list {
		if !isSealed(v) {
			out = append(out, v)
		}
	}
	return out
}
