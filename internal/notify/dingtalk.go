package notify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// DingTalk limits and answers
// (https://open.dingtalk.com/document/robots/custom-robot-access,
// https://open.dingtalk.com/document/robots/customize-robot-security-settings).
const (
	// dingTalkMaxBody bounds the request body; DingTalk limits a markdown
	// message to about 20,000 bytes [community reports; not confirmed].
	dingTalkMaxBody = 20000
	// dingTalkRateLimited: "send too fast" (20 messages a minute per robot).
	dingTalkRateLimited = 130101
)

// DingTalk is a DingTalk custom robot. Messages are markdown; with Secret
// set ("加签", SEC…) each request is signed: timestamp = Unix milliseconds,
// sign = base64(HMAC-SHA256(key = Secret, message = timestamp + "\n" +
// Secret)), both added to the URL's query.
type DingTalk struct {
	URL    string // https://oapi.dingtalk.com/robot/send?access_token=…
	Secret string
	Options
}

// Name is the channel's label, "dingtalk" by default.
func (c DingTalk) Name() string { return cmp.Or(c.Label, TypeDingTalk) }

// Send posts r as one markdown message.
func (c DingTalk) Send(ctx context.Context, r report.Report) error {
	return robot{
		Options: c.Options,
		name:    c.Name(),
		secrets: sensitive(c.URL, c.Secret),
		build:   func(now time.Time) (request, error) { return c.request(r, now) },
		check:   errcodeAnswer(dingTalkRateLimited),
	}.send(ctx)
}

// markdownStyle is the markdown DingTalk and WeCom robots render.
var markdownStyle = report.Style{
	Heading:    func(s string) string { return "### " + s },
	Bold:       func(s string) string { return "**" + s + "**" },
	Code:       codeSpan,
	Escape:     markdownEscape,
	Item:       "- ",
	SubItem:    "  - ",
	Clip:       clipChars,
	MaxDetails: maxDetails,
}

// codeSpan shows s verbatim in backticks; a backtick or line break inside
// would end it, so they become a quote and a space.
func codeSpan(s string) string {
	return "`" + strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s) + "`"
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "\n", " ")

// markdownEscape keeps text from the report's data from being read as
// markup.
func markdownEscape(s string) string { return markdownEscaper.Replace(s) }

func (c DingTalk) request(r report.Report, now time.Time) (request, error) {
	target, err := c.signedURL(now)
	if err != nil {
		return request{}, err
	}
	title := report.Headline(r)
	body, err := fitText(r, markdownStyle,
		func(text string) ([]byte, error) {
			var m struct {
				MsgType  string `json:"msgtype"`
				Markdown struct {
					Title string `json:"title"`
					Text  string `json:"text"`
				} `json:"markdown"`
			}
			m.MsgType = "markdown"
			m.Markdown.Title, m.Markdown.Text = title, text
			return marshal(m)
		},
		func(body []byte, _ string) bool { return len(body) <= dingTalkMaxBody })
	return request{url: target, body: body}, err
}

// signedURL adds timestamp and sign to the robot URL when c has a secret.
func (c DingTalk) signedURL(now time.Time) (string, error) {
	if c.Secret == "" {
		return c.URL, nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", errors.New("robot URL does not parse")
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", dingTalkSign(ts, c.Secret))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dingTalkSign is DingTalk's robot signature of a millisecond timestamp,
// before URL encoding.
func dingTalkSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
