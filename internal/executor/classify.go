package executor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/apicron/apicron"
)

// maxMessage bounds an error_message, in bytes.
const maxMessage = 300

// Classify maps an error from rendering, sending or reading an attempt to a
// run status and error type, by type and identity only, never by text:
//
//	nil                                      SUCCESS
//	a template that fails                    FAILED            template
//	a dial the outbound policy refused       FAILED            blocked
//	more than MaxRedirects redirects         FAILED            redirect_limit
//	a redirect from https to http refused    FAILED            insecure_redirect
//	context.Canceled (shutdown)              INTERRUPTED       interrupted
//	context.DeadlineExceeded                 TIMEOUT           timeout
//	*net.DNSError                            DNS_ERROR         dns
//	certificate, TLS record or alert errors (a client certificate refused),
//	a handshake answered by plain HTTP       CONNECTION_ERROR  tls
//	any net.Error whose Timeout() is true    TIMEOUT           timeout
//	refused, reset, unreachable, EOF, *net.OpError
//	                                         CONNECTION_ERROR  connection
//	anything else                            FAILED            other
//
// The order matters: a lookup or handshake cut short by the attempt's
// deadline is a timeout, and a resolver's own timeout is a DNS error.
func Classify(err error) (apicron.RunStatus, string) {
	var te *templateError
	var de *net.DNSError
	var be *BlockedError
	switch {
	case err == nil:
		return apicron.Success, ""
	case errors.As(err, &te):
		return apicron.Failed, apicron.ErrTemplate
	case errors.As(err, &be):
		return apicron.Failed, apicron.ErrBlocked
	case errors.Is(err, errTooManyRedirects):
		return apicron.Failed, apicron.ErrRedirectLimit
	case inChain(err, isInsecureRedirect):
		return apicron.Failed, apicron.ErrInsecureRedirect
	case errors.Is(err, context.Canceled):
		return apicron.Interrupted, apicron.ErrInterrupted
	case errors.Is(err, context.DeadlineExceeded):
		return apicron.Timeout, apicron.ErrTimeout
	case errors.As(err, &de):
		return apicron.DNSError, apicron.ErrDNS
	case isTLS(err):
		return apicron.ConnectionError, apicron.ErrTLS
	case inChain(err, isTimeoutError):
		return apicron.Timeout, apicron.ErrTimeout
	case isConnection(err):
		return apicron.ConnectionError, apicron.ErrConnection
	}
	return apicron.Failed, apicron.ErrOther
}

// ClassifyStatus maps a final response's status code to a run status and
// error type: 2xx SUCCESS; 4xx FAILED http_4xx; 5xx FAILED http_5xx; a 3xx
// that was not followed (304, 300, a 3xx without Location) FAILED other,
// since only 2xx is success; any other code FAILED other.
func ClassifyStatus(code int) (apicron.RunStatus, string) {
	switch {
	case code >= 200 && code < 300:
		return apicron.Success, ""
	case code >= 400 && code < 500:
		return apicron.Failed, apicron.ErrHTTP4xx
	case code >= 500 && code < 600:
		return apicron.Failed, apicron.ErrHTTP5xx
	}
	return apicron.Failed, apicron.ErrOther
}

// isTLS reports a failed certificate check or a broken TLS conversation.
// These will not fix themselves, so they are not retried.
func isTLS(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		ech       *tls.ECHRejectionError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	// The client's verification errors come in a *tls.CertificateVerificationError;
	// the bare x509 types are for a transport that verifies on its own. A
	// handshake answered by plain HTTP is a RecordHeaderError that
	// http.Client replaces with ErrSchemeMismatch.
	//
	// An alert the server sent (it refused the client certificate, or
	// whatever it was offered) comes as a *net.OpError whose Op is "remote
	// error", around a type crypto/tls does not export.
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &verify) || errors.As(err, &ech) || errors.As(err, &record) ||
		errors.As(err, &alert) || errors.As(err, &authority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || inChain(err, isRemoteAlert)
}

// isRemoteAlert reports a TLS alert received from the peer.
func isRemoteAlert(err error) bool {
	op, ok := err.(*net.OpError)
	return ok && op.Op == "remote error"
}

// connectionErrnos are the system errors of a connection that could not be
// made or broke.
var connectionErrnos = [...]error{
	syscall.ECONNREFUSED,
	syscall.ECONNRESET,
	syscall.ECONNABORTED,
	syscall.EHOSTUNREACH,
	syscall.ENETUNREACH,
	syscall.ENETDOWN,
	syscall.EPIPE,
}

// isConnection reports a connection refused, reset, unreachable or closed
// early: an EOF before the response, or mid-body, is the peer hanging up.
func isConnection(err error) bool {
	for _, target := range connectionErrnos {
		if errors.Is(err, target) {
			return true
		}
	}
	var op *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &op)
}

// isInsecureRedirect reports an *InsecureRedirectError; unlike errors.As,
// asking costs no allocation.
func isInsecureRedirect(err error) bool {
	_, ok := err.(*InsecureRedirectError)
	return ok
}

// isTimeoutError reports one link of a chain that says it is a timeout.
// Every link is asked, not only the first net.Error: *url.Error and
// *net.OpError answer for their own wrappee, but other wrappers may not.
func isTimeoutError(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// inChain reports whether f holds for err or anything it wraps, following
// both Unwrap() error and Unwrap() []error.
func inChain(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if inChain(e, f) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// describe writes a short, human error_message for err. It never repeats
// the request URL (a query may hold a key) and never a header value: the
// *url.Error wrapper, which quotes the URL, is left out.
func describe(err error, errType string, timeout time.Duration, inBody bool) string {
	var msg string
	switch errType {
	case apicron.ErrTimeout:
		if timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out after " + timeout.String()
			if inBody {
				msg += " reading the response body"
			}
			return msg
		}
	case apicron.ErrInterrupted:
		return "cancelled before the attempt finished"
	case apicron.ErrRedirectLimit:
		return errTooManyRedirects.Error()
	case apicron.ErrInsecureRedirect:
		var ire *InsecureRedirectError
		if errors.As(err, &ire) {
			return truncateText(ire.Error(), maxMessage)
		}
	case apicron.ErrBlocked:
		var be *BlockedError
		if errors.As(err, &be) {
			return truncateText(be.Error(), maxMessage)
		}
	case apicron.ErrDNS:
		var de *net.DNSError
		if errors.As(err, &de) {
			// DNSError.Error names the resolver too; the host and the reason say enough.
			msg = "lookup " + de.Name + ": " + de.Err
		}
	}
	if msg == "" && errors.Is(err, io.EOF) && !inBody {
		msg = "connection closed before a response (EOF)"
	}
	if msg == "" {
		msg = errorText(err)
	}
	if inBody {
		msg = "read response body: " + msg
	}
	return truncateText(msg, maxMessage)
}

// errorText is err's text with every *url.Error replaced by what it wraps.
func errorText(err error) string {
	msg := err.Error()
	inChain(err, func(e error) bool {
		if ue, ok := e.(*url.Error); ok && ue.Err != nil {
			msg = strings.Replace(msg, ue.Error(), ue.Err.Error(), 1)
		}
		return false
	})
	return msg
}

// truncateText returns s as valid UTF-8 of at most n bytes, cut at a rune
// boundary.
func truncateText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
