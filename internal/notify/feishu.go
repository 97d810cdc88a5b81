package notify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// Feishu limits and answers
// (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot).
const (
	// feishuMaxBody bounds the request body. The custom-bot guide limits
	// a request to 20 KB and cards to 30 KB; we keep to the smaller one
	// [not confirmed against the live service].
	feishuMaxBody = 20 << 10
	// feishuRateLimited: "frequency limited" (100 a minute, 5 a second per
	// robot) [not confirmed].
	feishuRateLimited = 11232
)

// Feishu is a Feishu custom bot; a Lark bot is the same on
// open.larksuite.com. Messages are interactive cards: a header with the
// headline (red when the report has problems) and one markdown element.
// With Secret set each body carries timestamp (Unix seconds) and sign =
// base64(HMAC-SHA256(key = timestamp + "\n" + Secret, message = empty)).
type Feishu struct {
	URL    string // https://open.feishu.cn/open-apis/bot/v2/hook/…
	Secret string
	Options
}

// Name is the channel's label, "feishu" by default.
func (c Feishu) Name() string { return cmp.Or(c.Label, TypeFeishu) }

// Send posts r as one interactive card.
func (c Feishu) Send(ctx context.Context, r report.Report) error {
	return robot{
		Options: c.Options,
		name:    c.Name(),
		secrets: sensitive(c.URL, c.Secret),
		build:   func(now time.Time) (request, error) { return c.request(r, now) },
		check:   feishuAnswer,
	}.send(ctx)
}

// feishuEscaper turns the characters Feishu's card markdown reads as
// markup into the HTML entities its documentation gives for them.
var feishuEscaper = strings.NewReplacer(
	"<", "&lt;", ">", "&gt;", "*", "&#42;", "_", "&#95;", "~", "&sim;",
	"`", "&#96;", "[", "&#91;", "]", "&#93;", "\n", " ")

var feishuStyle = report.Style{
	NoHeadline: true, // the card's header shows it
	Bold:       func(s string) string { return "**" + s + "**" },
	Code:       feishuEscaper.Replace,
	Escape:     feishuEscaper.Replace,
	Item:       "- ",
	SubItem:    "    - ",
	Clip:       clipChars,
	MaxDetails: maxDetails,
}

type feishuText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type feishuMessage struct {
	Timestamp string `json:"timestamp,omitempty"`
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"`
	Card      struct {
		Config struct {
			WideScreenMode bool `json:"wide_screen_mode"`
		} `json:"config"`
		Header struct {
			Title    feishuText `json:"title"`
			Template string     `json:"template"`
		} `json:"header"`
		Elements []feishuText `json:"elements"`
	} `json:"card"`
}

func (c Feishu) request(r report.Report, now time.Time) (request, error) {
	var m feishuMessage
	if c.Secret != "" {
		m.Timestamp = strconv.FormatInt(now.Unix(), 10)
		m.Sign = feishuSign(m.Timestamp, c.Secret)
	}
	m.MsgType = "interactive"
	m.Card.Config.WideScreenMode = true
	m.Card.Header.Title = feishuText{Tag: "plain_text", Content: report.Headline(r)}
	m.Card.Header.Template = "blue"
	if len(r.Problems) > 0 {
		m.Card.Header.Template = "red"
	}
	body, err := fitText(r, feishuStyle,
		func(text string) ([]byte, error) {
			m.Card.Elements = []feishuText{{Tag: "markdown", Content: text}}
			return marshal(m)
		},
		func(body []byte, _ string) bool { return len(body) <= feishuMaxBody })
	return request{url: c.URL, body: body}, err
}

// feishuSign is Feishu's bot signature: the key is timestamp + "\n" +
// secret, the message is empty.
func feishuSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// feishuAnswer reads {"code":0,"msg":"success"} or the older
// {"StatusCode":0,"StatusMessage":"success"}; either non-zero is a failure.
func feishuAnswer(status int, body []byte) *Error {
	var a struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if json.Unmarshal(body, &a) != nil || (a.Code == nil && a.StatusCode == nil) {
		return unreadable(status, body)
	}
	code, msg := a.Code, a.Msg
	if code == nil || (*code == 0 && a.StatusCode != nil && *a.StatusCode != 0) {
		code, msg = a.StatusCode, a.StatusMessage
	}
	if *code == 0 && success(status) {
		return nil
	}
	return &Error{Code: strconv.Itoa(*code), Message: msg, retry: *code == feishuRateLimited}
}
