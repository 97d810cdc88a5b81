package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// Retry policy: a few attempts, spaced out, within the caller's deadline.
const (
	maxAttempts   = 3
	firstBackoff  = 2 * time.Second // then 4 s
	maxRetryAfter = time.Minute     // a longer Retry-After is not waited for
	maxAnswer     = 64 << 10        // bytes of a robot's answer read
)

// Error says that a channel did not deliver a message, and what its robot
// answered. Its text never contains the robot's URL token or secret.
type Error struct {
	Channel string // the channel's Name
	Status  int    // HTTP status of the last answer; 0 when none came
	// Code is the robot's error code (DingTalk and WeCom errcode, Feishu
	// code or StatusCode) or Slack's error string.
	Code       string
	Message    string        // the robot's explanation
	Attempts   int           // requests made
	RetryAfter time.Duration // what the robot asked to wait, when it was too long to wait
	Err        error         // the transport error, when no answer came

	retry   bool     // worth another attempt
	secrets []string // never shown
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify %s: ", e.Channel)
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, ", code %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (asked to retry after %v)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return redact(b.String(), e.secrets)
}

func (e *Error) Unwrap() error { return e.Err }

// request is one HTTP request to a robot.
type request struct {
	url    string
	body   []byte
	header http.Header // beyond Content-Type and User-Agent
}

// robot posts one message: build makes the request for a signing time
// (again for each attempt, so that signatures stay fresh), and check reads
// the answer to a request that got one, returning nil when the message was
// delivered.
type robot struct {
	Options
	name    string
	secrets []string
	build   func(now time.Time) (request, error)
	check   func(status int, body []byte) *Error
}

func (b robot) send(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		req, err := b.build(b.now())
		if err != nil {
			return &Error{Channel: b.name, Err: fmt.Errorf("render the message: %w", err), secrets: b.secrets}
		}
		status, header, answer, err := b.post(ctx, req)
		var e *Error
		if err != nil {
			e = &Error{Err: redactURLError(err), retry: ctx.Err() == nil}
		} else if e = b.check(status, answer); e != nil {
			e.Status = status
			e.retry = e.retry || status == http.StatusTooManyRequests || status >= 500
		}
		if e == nil {
			return nil
		}
		e.Channel, e.Attempts, e.secrets = b.name, attempt, b.secrets
		if !e.retry || attempt == maxAttempts {
			return e
		}
		wait := firstBackoff << (attempt - 1)
		if ra, ok := retryAfter(header, b.now()); ok {
			if ra > maxRetryAfter {
				e.RetryAfter = ra
				return e
			}
			wait = max(wait, ra)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return e
		}
		if err := b.sleep(ctx, wait); err != nil {
			return e
		}
	}
}

// post sends req and returns the answer, read up to maxAnswer bytes.
func (b robot) post(ctx context.Context, req request) (int, http.Header, []byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.url, bytes.NewReader(req.body))
	if err != nil {
		return 0, nil, nil, err
	}
	hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	hr.Header.Set("User-Agent", "cdnrefresh")
	for k, v := range req.header {
		hr.Header[k] = v
	}
	resp, err := b.client().Do(hr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func success(status int) bool { return status >= 200 && status < 300 }

// errcodeAnswer reads the answer of DingTalk and WeCom robots,
// {"errcode":0,"errmsg":"ok"}; the codes in rateLimited are worth a retry.
func errcodeAnswer(rateLimited ...int) func(int, []byte) *Error {
	return func(status int, body []byte) *Error {
		var a struct {
			ErrCode *int   `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(body, &a) != nil || a.ErrCode == nil {
			return unreadable(status, body)
		}
		if *a.ErrCode == 0 && success(status) {
			return nil
		}
		return &Error{Code: strconv.Itoa(*a.ErrCode), Message: a.ErrMsg, retry: slices.Contains(rateLimited, *a.ErrCode)}
	}
}

// unreadable is the error for an answer that is not the robot's JSON.
func unreadable(status int, body []byte) *Error {
	if success(status) {
		return &Error{Message: "unexpected answer " + snippet(body)}
	}
	return &Error{Message: snippet(body)}
}

// snippet quotes the start of an answer for an error message.
func snippet(body []byte) string {
	return strconv.Quote(report.Clip(strings.TrimSpace(string(body)), 200))
}

// sensitive lists what must never show in an error about a robot: its
// signing secret, the values in its URL's query (access_token, key) and
// long path segments (Feishu hook ids, Slack tokens).
func sensitive(rawURL, secret string) []string {
	var out []string
	if secret != "" {
		out = append(out, secret)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return append(out, rawURL)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 6 {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if len(seg) >= 16 {
			out = append(out, seg)
		}
	}
	return out
}

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// redactURLError keeps only the scheme and host of the URL a transport
// error names.
func redactURLError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	short := "(robot URL)"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		short = u.Scheme + "://" + u.Host + "/…"
	}
	return &url.Error{Op: ue.Op, URL: short, Err: ue.Err}
}
