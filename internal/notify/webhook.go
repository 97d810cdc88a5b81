package notify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// Headers of the project's generic webhook signature, the same scheme the
// webhook function accepts.
const (
	HeaderTimestamp = "X-Cdnrefresh-Timestamp" // Unix seconds
	HeaderSignature = "X-Cdnrefresh-Signature" // "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
)

// Webhook posts the whole report.Report as JSON to any HTTP endpoint. With
// Secret set each request carries HeaderTimestamp and HeaderSignature. Any
// 2xx answer means delivered.
type Webhook struct {
	URL    string
	Secret string
	Options
}

// Name is the channel's label, "webhook" by default.
func (c Webhook) Name() string { return cmp.Or(c.Label, TypeWebhook) }

// Send posts r, in full.
func (c Webhook) Send(ctx context.Context, r report.Report) error {
	body, err := marshal(r)
	return robot{
		Options: c.Options,
		name:    c.Name(),
		secrets: sensitive(c.URL, c.Secret),
		build: func(now time.Time) (request, error) {
			if err != nil {
				return request{}, err
			}
			req := request{url: c.URL, body: body}
			if c.Secret != "" {
				ts := strconv.FormatInt(now.Unix(), 10)
				req.header = http.Header{
					HeaderTimestamp: {ts},
					HeaderSignature: {"sha256=" + webhookSign(c.Secret, ts, body)},
				}
			}
			return req, nil
		},
		check: webhookAnswer,
	}.send(ctx)
}

// webhookSign is hex(HMAC-SHA256(secret, timestamp + "." + body)).
func webhookSign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func webhookAnswer(status int, body []byte) *Error {
	if success(status) {
		return nil
	}
	return &Error{Message: snippet(body)}
}
