package notify

import (
	"cmp"
	"context"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// WeCom limits and answers (https://developer.work.weixin.qq.com/document/path/91770).
const (
	// weComMaxContent: markdown.content is at most 4096 bytes of UTF-8.
	weComMaxContent = 4096
	// weComRateLimited: "api freq out of limit" (20 messages a minute per robot).
	weComRateLimited = 45009
)

// WeCom is a WeCom (企业微信) group robot. Messages are markdown; the robot
// does not sign: the key in its URL is the credential.
type WeCom struct {
	URL string // https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
	Options
}

// Name is the channel's label, "wecom" by default.
func (c WeCom) Name() string { return cmp.Or(c.Label, TypeWeCom) }

// Send posts r as one markdown message.
func (c WeCom) Send(ctx context.Context, r report.Report) error {
	return robot{
		Options: c.Options,
		name:    c.Name(),
		secrets: sensitive(c.URL, ""),
		build:   func(time.Time) (request, error) { return c.request(r) },
		check:   errcodeAnswer(weComRateLimited),
	}.send(ctx)
}

func (c WeCom) request(r report.Report) (request, error) {
	body, err := fitText(r, markdownStyle,
		func(text string) ([]byte, error) {
			var m struct {
				MsgType  string `json:"msgtype"`
				Markdown struct {
					Content string `json:"content"`
				} `json:"markdown"`
			}
			m.MsgType = "markdown"
			m.Markdown.Content = text
			return marshal(m)
		},
		func(_ []byte, text string) bool { return len(text) <= weComMaxContent })
	return request{url: c.URL, body: body}, err
}
