// Package client is a Go client of apicron's REST API: targets, schedules,
// notifiers and runs, health and metrics.
//
// It is written by hand over the server's own request and response types
// (see types.go), rather than generated from the OpenAPI document: the
// types are the ones the server encodes, so they cannot drift, and the
// whole client stays a few hundred lines with no generator to keep in CI.
//
//	c := client.New("http://localhost:8000", client.WithToken(os.Getenv("APICRON_TOKEN")))
//	t, err := c.CreateTarget(ctx, client.TargetCreate{Name: "httpbin", URL: "https://httpbin.org/get"})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.StatusCode == 422 { ... apiErr.Problem.Errors[0].Location ... }
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultURL is where a client without a URL looks for the server.
const DefaultURL = "http://localhost:8000"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Client calls one apicron server. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	agent string
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as a bearer token (API_TOKEN or API_READ_TOKEN on the server).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient makes the client send its requests with h.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New returns a client of the server at baseURL ("" is DefaultURL). A
// baseURL that does not parse makes every call fail with that error.
func New(baseURL string, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultURL
	}
	c := &Client{http: http.DefaultClient, agent: "apicron-client"}
	if u, err := url.Parse(strings.TrimRight(baseURL, "/")); err == nil && u.Scheme != "" && u.Host != "" {
		c.base = u
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an answer of the API other than 2xx: its status and the RFC 9457
// problem it sent. A 422 names the field at fault in Problem.Errors.
type Error struct {
	StatusCode int
	Problem    Problem
}

// Problem is the API's problem detail (RFC 9457).
type Problem struct {
	Type   string          `json:"type,omitempty"`
	Title  string          `json:"title,omitempty"`
	Status int             `json:"status,omitempty"`
	Detail string          `json:"detail,omitempty"`
	Errors []ProblemDetail `json:"errors,omitempty"`
}

// ProblemDetail is one fault of a request: where (body.name, query.limit) and why.
type ProblemDetail struct {
	Message  string `json:"message,omitempty"`
	Location string `json:"location,omitempty"`
	Value    any    `json:"value,omitempty"`
}

// Error says the status and the API's detail, which names the field of a
// validation error ("body.name: ...").
func (e *Error) Error() string {
	msg := e.Problem.Detail
	if msg == "" {
		msg = e.Problem.Title
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	for _, d := range e.Problem.Errors {
		if d.Location != "" && !strings.Contains(msg, d.Location) {
			msg += " (" + d.Location + ": " + d.Message + ")"
		}
	}
	return fmt.Sprintf("%d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), msg)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is the API's 409: the resource's state forbids it.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsInvalid reports whether err is the API's 422: the request breaks a rule.
func IsInvalid(err error) bool { return StatusOf(err) == http.StatusUnprocessableEntity }

// Response is what Do read besides the body: the status and headers.
type Response struct {
	StatusCode int
	Header     http.Header
}

// Do sends one request: body (any value, JSON-encoded; nil for none) to
// method path?query, and decodes a 2xx answer's JSON into out (nil: not
// read). Other answers are an *Error. The typed methods call it; it is
// exported for the operations they do not cover and for bodies the typed
// ones cannot say, such as an explicit null in a map[string]any update.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) (*Response, error) {
	if c.base == nil {
		return nil, errors.New("the server URL must be absolute, such as " + DefaultURL)
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out2 := &Response{StatusCode: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := &Error{StatusCode: resp.StatusCode}
		if json.Unmarshal(data, &e.Problem) != nil || (e.Problem.Detail == "" && e.Problem.Title == "") {
			e.Problem.Detail = strings.TrimSpace(string(data))
		}
		return out2, e
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return out2, fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
		}
	}
	return out2, nil
}

// Page is a page of a list: at most Limit items (0: the server's 100, at
// most 1000) from Offset on.
type Page struct {
	Limit  int
	Offset int
}

func (p Page) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	return q
}

// total reads X-Total-Count, or -1 without it.
func total(r *Response) int {
	if r == nil {
		return -1
	}
	n, err := strconv.Atoi(r.Header.Get("X-Total-Count"))
	if err != nil {
		return -1
	}
	return n
}

func idPath(kind string, id int64) string { return "/" + kind + "/" + strconv.FormatInt(id, 10) }

// list reads one page of kind into out and returns the total count.
func (c *Client) list(ctx context.Context, path string, q url.Values, out any) (int, error) {
	r, err := c.Do(ctx, http.MethodGet, path, q, nil, out)
	if err != nil {
		return 0, err
	}
	return total(r), nil
}

// all reads every page of path, 1000 at a time.
func all[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var out []T
	if q == nil {
		q = url.Values{}
	}
	for offset := 0; ; {
		q.Set("limit", "1000")
		q.Set("offset", strconv.Itoa(offset))
		var page []T
		n, err := c.list(ctx, path, q, &page)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		offset += len(page)
		if len(page) == 0 || (n >= 0 && offset >= n) {
			return out, nil
		}
	}
}
