package notify

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
	mail "github.com/wneessen/go-mail"
)

// SubjectPrefix starts the subject of every email notification.
const SubjectPrefix = "[apicron] "

// authPreference is the order in which SMTP AUTH mechanisms are tried among
// those the server offers. go-mail refuses PLAIN and LOGIN on a connection
// without TLS (but to localhost).
var authPreference = []mail.SMTPAuthType{
	mail.SMTPAuthSCRAMSHA256PLUS, mail.SMTPAuthSCRAMSHA256,
	mail.SMTPAuthSCRAMSHA1PLUS, mail.SMTPAuthSCRAMSHA1,
	mail.SMTPAuthCramMD5, mail.SMTPAuthPlain, mail.SMTPAuthLogin,
}

func (s *Sender) sendEmail(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error {
	e := n.Email
	if e == nil {
		return errors.New("email: the notifier has no email settings")
	}
	addr := net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	err := s.deliverEmail(ctx, e, id, m)
	if err == nil {
		return nil
	}
	// Only the context's error is kept in the chain: go-mail's could quote
	// the credentials.
	return &redactedError{msg: redactSecret("email via "+addr+": "+err.Error(), e.Username, e.Password), err: ctx.Err()}
}

func (s *Sender) deliverEmail(ctx context.Context, e *apicron.EmailSettings, id string, m *apicron.AlertMessage) error {
	msg, err := s.emailMessage(e, id, m)
	if err != nil {
		return err
	}

	deadline, _ := ctx.Deadline() // set by Send
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tlsConf = s.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = e.Host
	}

	// The dialer ties each connection to ctx (go-mail only bounds its
	// dial by it) and keeps it, to close it whatever go-mail leaves open.
	var (
		mu    sync.Mutex
		conns []net.Conn
		stops []func() bool
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for i, c := range conns {
			stops[i]()
			_ = c.Close()
		}
	}()
	implicitTLS := e.Security == apicron.SMTPTLS
	dial := func(dctx context.Context, network, address string) (net.Conn, error) {
		nd := &net.Dialer{Control: s.Control}
		var (
			c   net.Conn
			err error
		)
		if implicitTLS {
			c, err = (&tls.Dialer{NetDialer: nd, Config: tlsConf}).DialContext(dctx, network, address)
		} else {
			c, err = nd.DialContext(dctx, network, address)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conns = append(conns, c)
		stops = append(stops, context.AfterFunc(ctx, func() { _ = c.Close() }))
		mu.Unlock()
		return c, nil
	}

	opts := []mail.Option{
		mail.WithPort(e.Port),
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(tlsConf),
		mail.WithDialContextFunc(dial),
	}
	switch e.Security {
	case apicron.SMTPStartTLS, "":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case apicron.SMTPTLS:
		// TLS from the first byte, by the dialer: no STARTTLS.
		opts = append(opts, mail.WithSSL())
	case apicron.SMTPNone:
		if e.Username != "" {
			return errors.New(`security "none" with credentials: they would travel in clear`)
		}
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return fmt.Errorf("unknown security %q", e.Security)
	}
	if e.Username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(authPreference...),
			mail.WithUsername(e.Username),
			mail.WithPassword(e.Password))
	}
	client, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return err
	}
	return client.DialAndSendWithContext(ctx, msg)
}

// emailMessage is the email of m.
func (s *Sender) emailMessage(e *apicron.EmailSettings, id string, m *apicron.AlertMessage) (*mail.Msg, error) {
	subject, body := Text(m)
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(e.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", e.From, err)
	}
	if err := msg.To(e.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(SubjectPrefix + subject)
	msg.SetDateWithValue(s.now())
	if id != "" {
		msg.SetMessageIDWithValue(messageID(id))
	} else {
		msg.SetMessageID()
	}
	msg.SetUserAgent(userAgent)
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetBodyString(mail.TypeTextPlain, body)
	return msg, nil
}

// messageID is the Message-ID (without its angle brackets) of the
// notification id: the same for every retry, so that a duplicate is told
// apart by the receiving side.
func messageID(id string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '.', r == '_', r == '+', r == '=':
			return r
		}
		return '-'
	}, id)
	return clean + "@apicron"
}

// redactSecret replaces the password, and the forms of it an SMTP AUTH
// exchange carries, in msg.
func redactSecret(msg, username, password string) string {
	if password == "" {
		return msg
	}
	forms := []string{
		password,
		base64.StdEncoding.EncodeToString([]byte(password)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + username + "\x00" + password)),
	}
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, "********")
	}
	return msg
}

// redactedError is an error whose message has its secrets removed; err,
// if any, is the context's error (for errors.Is).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
