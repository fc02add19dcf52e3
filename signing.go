package apicron

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SigningSecretPrefix starts a Standard Webhooks signing secret: whsec_
// and the base64 of the key.
const SigningSecretPrefix = "whsec_"

// GenerateSigningSecret is the signing secret that asks for a new one.
const GenerateSigningSecret = "generate"

// MaxSigningSecrets is how many signing secrets a target has at most: two,
// so that a key rotates without a gap (both signatures are sent).
const MaxSigningSecrets = 2

// NewSigningSecret returns a fresh secret of 32 random bytes.
func NewSigningSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// MaskSigningSecret is how the API shows a signing secret: write-only, the
// last four characters kept to tell two apart. Sent back in an update, it
// keeps the secret it masks.
func MaskSigningSecret(s string) string {
	tail := s
	if len(s) > 4 {
		tail = s[len(s)-4:]
	}
	return SigningSecretPrefix + "********" + tail
}

// ExpandSigningSecrets replaces a GenerateSigningSecret in list with a new
// signing secret, which it returns too ("" when none was asked for): the
// rule of the API's signing_secrets and the dashboard's "generate".
func ExpandSigningSecrets(list []string) ([]string, string, error) {
	out := make([]string, 0, len(list))
	generated := ""
	for _, s := range list {
		if strings.HasPrefix(s, "enc:") {
			return nil, "", Invalid("signing_secrets", `takes secrets (whsec_...), "generate", or the masks GET shows; not stored ciphertexts`)
		}
		if s == GenerateSigningSecret {
			if generated != "" {
				return nil, "", Invalid("signing_secrets", "asks to generate more than one secret")
			}
			generated = NewSigningSecret()
			s = generated
		}
		out = append(out, s)
	}
	return out, generated, nil
}

// signingKey returns the key of secret, or false when it is not one.
func signingKey(secret string) ([]byte, bool) {
	raw, ok := strings.CutPrefix(secret, SigningSecretPrefix)
	if !ok {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, false
	}
	return key, true
}

// ValidateSigningSecrets checks a target's signing secrets.
func ValidateSigningSecrets(list []string) error {
	if len(list) > MaxSigningSecrets {
		return Invalid("signing_secrets", "takes at most %d secrets (the current one and the next, during a rotation), got %d",
			MaxSigningSecrets, len(list))
	}
	for i, s := range list {
		if j := slices.Index(list, s); j != i {
			return Invalid("signing_secrets", "entry %d repeats entry %d", i, j)
		}
		if _, ok := signingKey(s); !ok {
			return Invalid("signing_secrets", `entry %d must be "generate" or whsec_ followed by the base64 of a 24 to 64 byte key`, i)
		}
	}
	return nil
}

// SignWebhook returns the webhook-signature header of a request with id,
// timestamp and body under each secret, by the Standard Webhooks scheme:
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>", space-separated.
func SignWebhook(secrets []string, id string, timestamp time.Time, body []byte) string {
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, ok := signingKey(s)
		if !ok {
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// OccurrenceKey names one occurrence of a schedule, the same for every
// attempt and on every node: the Idempotency-Key and webhook-id of its
// requests.
func OccurrenceKey(scheduleID int64, scheduledAt time.Time) string {
	return "apicron-" + strconv.FormatInt(scheduleID, 10) + "-" + strconv.FormatInt(scheduledAt.UnixMilli(), 10)
}
