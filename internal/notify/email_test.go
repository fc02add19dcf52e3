package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testCert is a self-signed certificate for 127.0.0.1, and a pool that
// trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "apicron test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// mailbox is what a test SMTP server received.
type mailbox struct {
	mu   sync.Mutex
	msgs []receivedMail
}

type receivedMail struct {
	from  string
	to    []string
	data  []byte
	tls   bool // the session was over TLS when MAIL came
	authd bool
}

func (mb *mailbox) all() []receivedMail {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]receivedMail(nil), mb.msgs...)
}

// session is one SMTP session of the test server.
type session struct {
	mb         *mailbox
	conn       *smtp.Conn
	user, pass string // required credentials; "": no AUTH offered
	authd      bool
	cur        receivedMail
}

func (s *session) AuthMechanisms() []string {
	if s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.user || pass != s.pass {
			return smtp.ErrAuthFailed
		}
		s.authd = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user != "" && !s.authd {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = receivedMail{from: from, tls: isTLS, authd: s.authd}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.cur)
	s.mb.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = receivedMail{} }
func (s *session) Logout() error { return nil }

// smtpServer options.
type smtpServer struct {
	security   string // starttls: STARTTLS offered; tls: implicit TLS; none: plain, no STARTTLS
	user, pass string // AUTH PLAIN with these; "": no AUTH
}

// start runs the server on 127.0.0.1:0 and returns its port and mailbox.
func (o smtpServer) start(t *testing.T) (int, *mailbox) {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{mb: mb, conn: c, user: o.user, pass: o.pass}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	cert, _ := testCert()
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch o.security {
	case apicron.SMTPStartTLS:
		srv.TLSConfig = tlsConf
	case apicron.SMTPTLS:
		srv.TLSConfig = tlsConf
		l = tls.NewListener(l, tlsConf)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port, mb
}

func emailNotifier(port int, security, user, pass string) *apicron.Notifier {
	return &apicron.Notifier{ID: 3, Name: "ops mail", Type: apicron.NotifierEmail, Email: &apicron.EmailSettings{
		Host: "127.0.0.1", Port: port, Security: security, Username: user, Password: pass,
		From: "apicron <alerts@example.com>", To: []string{"ops@example.com", "Oncall <oncall@example.org>"},
	}}
}

func tlsSender() *Sender {
	_, pool := testCert()
	return &Sender{
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Timeout:   5 * time.Second,
		Now:       func() time.Time { return time.Date(2025, 3, 4, 5, 6, 8, 0, time.UTC) },
	}
}

const (
	testUser = "alerts"
	testPass = "correct-horse-battery"
)

// TestEmailStartTLS: over STARTTLS with AUTH PLAIN, the server gets one
// message from From to every To, with the subject, Message-ID, Date and
// plain-text body of the notification.
func TestEmailStartTLS(t *testing.T) {
	t.Parallel()
	port, mb := smtpServer{security: apicron.SMTPStartTLS, user: testUser, pass: testPass}.start(t)
	m := testMessage()
	if err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPStartTLS, testUser, testPass), "notif-17", m); err != nil {
		t.Fatal(err)
	}
	got := mb.all()
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.tls || !r.authd {
		t.Errorf("tls %v, authenticated %v: want both", r.tls, r.authd)
	}
	if r.from != "alerts@example.com" || strings.Join(r.to, ",") != "ops@example.com,oncall@example.org" {
		t.Errorf("envelope from %q to %q", r.from, r.to)
	}
	checkMail(t, r.data, m)
}

// checkMail checks the headers and body of a received notification of m.
func checkMail(t *testing.T, data []byte, m *apicron.AlertMessage) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	wantSubject, wantBody := Text(m)
	if subject != "[apicron] "+wantSubject {
		t.Errorf("Subject %q, want %q", subject, "[apicron] "+wantSubject)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "alerts@example.com" {
		t.Errorf("From %q (%v)", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ops@example.com" || to[1].Address != "oncall@example.org" {
		t.Errorf("To %q (%v)", h.Get("To"), err)
	}
	if id := h.Get("Message-ID"); id != "<notif-17@apicron>" {
		t.Errorf("Message-ID %q", id)
	}
	if date, err := h.Date(); err != nil || !date.Equal(time.Date(2025, 3, 4, 5, 6, 8, 0, time.UTC)) {
		t.Errorf("Date %q (%v)", h.Get("Date"), err)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	body := msg.Body
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); strings.TrimSpace(got) != strings.TrimSpace(wantBody) {
		t.Errorf("body\n%s\nwant\n%s", got, wantBody)
	}
}

// TestEmailWrongPassword: a refused login is an error that does not quote
// the password, and nothing is sent.
func TestEmailWrongPassword(t *testing.T) {
	t.Parallel()
	port, mb := smtpServer{security: apicron.SMTPStartTLS, user: testUser, pass: testPass}.start(t)
	const wrong = "wrong-pass-w0rd"
	err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPStartTLS, testUser, wrong), "n1", testMessage())
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q quotes the password", err)
	}
	if !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("error %q does not say the login failed", err)
	}
	if n := len(mb.all()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// TestEmailStartTLSRequired: security starttls fails against a server that
// does not offer STARTTLS, before any mail.
func TestEmailStartTLSRequired(t *testing.T) {
	t.Parallel()
	port, mb := smtpServer{security: apicron.SMTPNone}.start(t)
	err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPStartTLS, "", ""), "n1", testMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %v, want one about STARTTLS", err)
	}
	if n := len(mb.all()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// TestEmailNoTLS: security none delivers to a plain server, without AUTH.
func TestEmailNoTLS(t *testing.T) {
	t.Parallel()
	port, mb := smtpServer{security: apicron.SMTPNone}.start(t)
	m := testMessage()
	if err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPNone, "", ""), "notif-17", m); err != nil {
		t.Fatal(err)
	}
	got := mb.all()
	if len(got) != 1 || got[0].tls {
		t.Fatalf("messages %+v: want one, in clear", got)
	}
	checkMail(t, got[0].data, m)

	// Credentials over no TLS are refused before connecting.
	err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPNone, testUser, testPass), "n2", m)
	if err == nil || strings.Contains(err.Error(), testPass) {
		t.Errorf("error %v, want a refusal without the password", err)
	}
}

// TestEmailImplicitTLS: security tls speaks TLS from the first byte and
// authenticates.
func TestEmailImplicitTLS(t *testing.T) {
	t.Parallel()
	port, mb := smtpServer{security: apicron.SMTPTLS, user: testUser, pass: testPass}.start(t)
	m := testMessage()
	if err := tlsSender().Send(context.Background(), emailNotifier(port, apicron.SMTPTLS, testUser, testPass), "notif-17", m); err != nil {
		t.Fatal(err)
	}
	got := mb.all()
	if len(got) != 1 || !got[0].tls || !got[0].authd {
		t.Fatalf("messages %+v: want one, over TLS, authenticated", got)
	}
	checkMail(t, got[0].data, m)

	// The server's certificate is checked: without its root, no delivery.
	s := tlsSender()
	s.TLSConfig = nil
	if err := s.Send(context.Background(), emailNotifier(port, apicron.SMTPTLS, testUser, testPass), "n2", m); err == nil {
		t.Error("an untrusted certificate is accepted")
	}
}

// TestEmailCancel: cancelling the context ends a session with a server
// that never answers, well before the timeout.
func TestEmailCancel(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		c, err := l.Accept() // a connection that gets no greeting
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		cancel()
		_, _ = io.Copy(io.Discard, c)
	}()
	s := tlsSender()
	s.Timeout = time.Minute
	start := time.Now()
	err = s.Send(ctx, emailNotifier(l.Addr().(*net.TCPAddr).Port, apicron.SMTPStartTLS, "", ""), "n1", testMessage())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("returned after %v", d)
	}
}
