package executor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// timeoutError is a net.Error that says it timed out, as the transport's
// own handshake and header timeouts do.
type timeoutError struct{}

func (timeoutError) Error() string   { return "handshake timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// urlErr wraps err as http.Client.Do does, with a URL holding a secret.
func urlErr(err error) error {
	return &url.Error{Op: "Get", URL: "https://api.test/x?key=SECRET", Err: err}
}

func dialErr(err error) error {
	return urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)})
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		status  apicron.RunStatus
		errType string
	}{
		{"nil", nil, apicron.Success, ""},
		{"template", &templateError{errors.New("template does not execute")}, apicron.Failed, apicron.ErrTemplate},
		{"redirects", urlErr(errTooManyRedirects), apicron.Failed, apicron.ErrRedirectLimit},
		{"insecure redirect", urlErr(&InsecureRedirectError{From: "https://a.test", To: "http://a.test"}), apicron.Failed, apicron.ErrInsecureRedirect},
		{"canceled", urlErr(context.Canceled), apicron.Interrupted, apicron.ErrInterrupted},
		{"deadline", urlErr(context.DeadlineExceeded), apicron.Timeout, apicron.ErrTimeout},
		{"deadline in body", fmt.Errorf("read: %w", context.DeadlineExceeded), apicron.Timeout, apicron.ErrTimeout},
		{"deadline during lookup", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", IsTimeout: true, UnwrapErr: context.DeadlineExceeded}}), apicron.Timeout, apicron.ErrTimeout},
		{"os deadline", urlErr(&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), apicron.Timeout, apicron.ErrTimeout},
		{"net timeout", urlErr(timeoutError{}), apicron.Timeout, apicron.ErrTimeout},
		{"timeout under a plain wrapper", urlErr(fmt.Errorf("wrapped: %w", timeoutError{})), apicron.Timeout, apicron.ErrTimeout},
		{"timeout in a join", errors.Join(errors.New("a"), timeoutError{}), apicron.Timeout, apicron.ErrTimeout},
		{"no such host", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}), apicron.DNSError, apicron.ErrDNS},
		{"resolver timeout", &net.DNSError{Err: "i/o timeout", IsTimeout: true}, apicron.DNSError, apicron.ErrDNS},
		{"refused", dialErr(syscall.ECONNREFUSED), apicron.ConnectionError, apicron.ErrConnection},
		{"reset", urlErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), apicron.ConnectionError, apicron.ErrConnection},
		{"host unreachable", dialErr(syscall.EHOSTUNREACH), apicron.ConnectionError, apicron.ErrConnection},
		{"net unreachable", dialErr(syscall.ENETUNREACH), apicron.ConnectionError, apicron.ErrConnection},
		{"bare errno", fmt.Errorf("write: %w", syscall.EPIPE), apicron.ConnectionError, apicron.ErrConnection},
		{"other op error", urlErr(&net.OpError{Op: "dial", Err: errors.New("weird")}), apicron.ConnectionError, apicron.ErrConnection},
		{"eof", urlErr(io.EOF), apicron.ConnectionError, apicron.ErrConnection},
		{"unexpected eof", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), apicron.ConnectionError, apicron.ErrConnection},
		{"unknown authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), apicron.ConnectionError, apicron.ErrTLS},
		{"bare unknown authority", x509.UnknownAuthorityError{}, apicron.ConnectionError, apicron.ErrTLS},
		{"hostname", urlErr(x509.HostnameError{Host: "x"}), apicron.ConnectionError, apicron.ErrTLS},
		{"expired", urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), apicron.ConnectionError, apicron.ErrTLS},
		{"record header", urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), apicron.ConnectionError, apicron.ErrTLS},
		{"plain HTTP answering https", urlErr(http.ErrSchemeMismatch), apicron.ConnectionError, apicron.ErrTLS},
		{"alert", urlErr(&net.OpError{Op: "remote error", Err: tls.AlertError(40)}), apicron.ConnectionError, apicron.ErrTLS},
		{"other", urlErr(errors.New("unsupported protocol scheme")), apicron.Failed, apicron.ErrOther},
		{"not a timeout", urlErr(notTimeout{}), apicron.Failed, apicron.ErrOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, errType := Classify(tt.err)
			if status != tt.status || errType != tt.errType {
				t.Errorf("Classify(%v) = %s %q, want %s %q", tt.err, status, errType, tt.status, tt.errType)
			}
		})
	}
}

// notTimeout is a net.Error that is not a timeout.
type notTimeout struct{}

func (notTimeout) Error() string   { return "no" }
func (notTimeout) Timeout() bool   { return false }
func (notTimeout) Temporary() bool { return false }

func TestClassifyStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code    int
		status  apicron.RunStatus
		errType string
	}{
		{200, apicron.Success, ""},
		{204, apicron.Success, ""},
		{299, apicron.Success, ""},
		{300, apicron.Failed, apicron.ErrOther},
		{304, apicron.Failed, apicron.ErrOther},
		{400, apicron.Failed, apicron.ErrHTTP4xx},
		{429, apicron.Failed, apicron.ErrHTTP4xx},
		{499, apicron.Failed, apicron.ErrHTTP4xx},
		{500, apicron.Failed, apicron.ErrHTTP5xx},
		{503, apicron.Failed, apicron.ErrHTTP5xx},
		{599, apicron.Failed, apicron.ErrHTTP5xx},
		{600, apicron.Failed, apicron.ErrOther},
		{199, apicron.Failed, apicron.ErrOther},
	}
	for _, tt := range tests {
		status, errType := ClassifyStatus(tt.code)
		if status != tt.status || errType != tt.errType {
			t.Errorf("ClassifyStatus(%d) = %s %q, want %s %q", tt.code, status, errType, tt.status, tt.errType)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		timeout time.Duration
		inBody  bool
		want    string
	}{
		{"deadline", urlErr(context.DeadlineExceeded), 5 * time.Second, false, "timed out after 5s"},
		{"deadline in body", context.DeadlineExceeded, 1500 * time.Millisecond, true, "timed out after 1.5s reading the response body"},
		{"url left out", dialErr(syscall.ECONNREFUSED), 0, false, "dial tcp: connect: connection refused"},
		{"dns without resolver", urlErr(&net.DNSError{Err: "no such host", Name: "a.invalid", Server: "10.0.0.1:53", IsNotFound: true}), 0, false, "lookup a.invalid: no such host"},
		{"redirects", urlErr(errTooManyRedirects), 0, false, "stopped after 10 redirects"},
		{"canceled", urlErr(context.Canceled), 0, false, "cancelled before the attempt finished"},
		{"insecure redirect", urlErr(&InsecureRedirectError{From: "https://a.test", To: "http://a.test:8080"}), 0, false,
			"refused a redirect from https://a.test to http://a.test:8080: it would send the request without TLS (the target does not set allow_insecure_redirects)"},
		{"body", io.ErrUnexpectedEOF, 0, true, "read response body: unexpected EOF"},
		{"eof", urlErr(io.EOF), 0, false, "connection closed before a response (EOF)"},
		{"nested url error", fmt.Errorf("build request: %w", &url.Error{Op: "parse", URL: "http://x y/?key=SECRET", Err: errors.New("invalid character \" \" in host name")}), 0, false, `build request: invalid character " " in host name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errType := Classify(tt.err)
			got := describe(tt.err, errType, tt.timeout, tt.inBody)
			if got != tt.want {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Errorf("message leaks the URL: %q", got)
			}
		})
	}
	long := describe(errors.New(strings.Repeat("é", 400)), apicron.ErrOther, 0, false)
	if len(long) > maxMessage || !strings.HasPrefix(long, "éé") || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("long message not cut at a rune boundary: %d bytes", len(long))
	}
}

func BenchmarkClassify(b *testing.B) {
	errs := []error{
		dialErr(syscall.ECONNREFUSED),
		urlErr(context.DeadlineExceeded),
		urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
		urlErr(errors.New("something else")),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Classify(errs[i%len(errs)])
	}
}
