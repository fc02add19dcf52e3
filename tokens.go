package apicron

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Access is what a token (or a session opened with one) allows.
type Access int

// Access levels.
const (
	AccessNone Access = iota
	AccessRead        // GET and HEAD: look
	AccessFull        // look and change
)

// TokenSet checks tokens (API_TOKEN, API_READ_TOKEN). It keeps only their
// SHA-256 digests and compares a presented token's digest with every one of
// them in constant time, so neither the time a check takes nor an early
// exit tells which token matched, how long the tokens are, or how much of
// one was right.
type TokenSet struct {
	full, read [][sha256.Size]byte
}

// NewTokenSet returns nil when there are no tokens: access is open.
func NewTokenSet(full, read []string) *TokenSet {
	if len(full) == 0 && len(read) == 0 {
		return nil
	}
	s := &TokenSet{}
	for _, t := range full {
		s.full = append(s.full, sha256.Sum256([]byte(t)))
	}
	for _, t := range read {
		s.read = append(s.read, sha256.Sum256([]byte(t)))
	}
	return s
}

// Check returns what token allows. Every digest is compared, whatever matched.
func (s *TokenSet) Check(token string) Access {
	d := sha256.Sum256([]byte(token))
	full, read := 0, 0
	for i := range s.full {
		full |= subtle.ConstantTimeCompare(d[:], s.full[i][:])
	}
	for i := range s.read {
		read |= subtle.ConstantTimeCompare(d[:], s.read[i][:])
	}
	switch {
	case full == 1:
		return AccessFull
	case read == 1:
		return AccessRead
	}
	return AccessNone
}
