// Package notify sends a report.Report to chat robots and webhooks, each in
// its own native form: a DingTalk custom robot (markdown, optional signing),
// a Feishu or Lark custom bot (interactive card with markdown, optional
// signing), a WeCom group robot (markdown), a Slack incoming webhook (Block
// Kit) and a generic JSON webhook signed the project's way.
//
// Every rendering fits its platform's message size limit: the failed-task
// list, which comes last, is cut short with "… and N more not shown".
// A robot that answers HTTP 200 with a non-zero error code has not
// delivered the message, and Send says so. Rate limits, 429 and 5xx
// answers and network errors are retried politely; signature, keyword and
// address errors are not. Errors never carry a robot URL's token or a
// signing secret.
//
// Platform documentation:
//   - DingTalk: https://open.dingtalk.com/document/robots/custom-robot-access
//   - Feishu: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
//     (Lark: https://open.larksuite.com/document/client-docs/bot-v3/add-custom-bot)
//   - WeCom: https://developer.work.weixin.qq.com/document/path/91770
//   - Slack: https://api.slack.com/messaging/webhooks
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// Channel is one place reports go to: a report.Sender.
type Channel = report.Sender

// Options are what every channel needs to post. The zero Options work.
type Options struct {
	// Label names the channel (Name); the channel type when empty.
	Label string
	// Client posts the message; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now gives the signing timestamps; nil means time.Now.
	Now func() time.Time
	// Sleep waits between attempts, or returns ctx's error; nil means a
	// timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

func (o Options) client() *http.Client { return cmp.Or(o.Client, defaultClient) }

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Channel types, as notify.channels[].type names them.
const (
	TypeDingTalk = "dingtalk"
	TypeFeishu   = "feishu"
	TypeLark     = "lark" // a Feishu bot on open.larksuite.com
	TypeWeCom    = "wecom"
	TypeSlack    = "slack"
	TypeWebhook  = "webhook"
)

// ChannelConfig is one entry of notify.channels in the config file.
type ChannelConfig struct {
	Type   string `yaml:"type" json:"type"`
	URL    string `yaml:"url" json:"url"`                           // the robot's webhook address, token included
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"` // signing secret (dingtalk, feishu, lark, webhook)
	Name   string `yaml:"name,omitempty" json:"name,omitempty"`     // defaults to the type
}

// New builds the channels cfg describes, all posting with client (nil: a
// client with a 10 s timeout) and signing with the time now gives (nil:
// time.Now). The error names every bad entry by its index, never by its
// URL.
func New(cfg []ChannelConfig, client *http.Client, now func() time.Time) ([]Channel, error) {
	perType := map[string]int{}
	for _, c := range cfg {
		perType[c.Type]++
	}
	nth := map[string]int{}  // per type, for default names
	used := map[string]int{} // name -> index of its entry
	var errs []error
	chans := make([]Channel, 0, len(cfg))
	for i, c := range cfg {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("notify.channels[%d] (%s): %s", i, c.Type, fmt.Sprintf(format, args...)))
		}
		name := c.Name
		if name == "" {
			name = c.Type
			if perType[c.Type] > 1 {
				nth[c.Type]++
				name = fmt.Sprintf("%s-%d", c.Type, nth[c.Type])
			}
		}
		if j, dup := used[name]; dup {
			bad("name %q is already used by notify.channels[%d]", name, j)
		} else {
			used[name] = i
		}
		if err := checkURL(c.URL); err != nil {
			bad("%v", err)
		}
		o := Options{Label: name, Client: client, Now: now}
		switch c.Type {
		case TypeDingTalk:
			chans = append(chans, DingTalk{URL: c.URL, Secret: c.Secret, Options: o})
		case TypeFeishu, TypeLark:
			chans = append(chans, Feishu{URL: c.URL, Secret: c.Secret, Options: o})
		case TypeWeCom, TypeSlack:
			if c.Secret != "" {
				bad("%s robots do not sign; remove the secret", c.Type)
			}
			if c.Type == TypeWeCom {
				chans = append(chans, WeCom{URL: c.URL, Options: o})
			} else {
				chans = append(chans, Slack{URL: c.URL, Options: o})
			}
		case TypeWebhook:
			chans = append(chans, Webhook{URL: c.URL, Secret: c.Secret, Options: o})
		default:
			bad("unknown type %q (want dingtalk, feishu, lark, wecom, slack or webhook)", c.Type)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return chans, nil
}

// checkURL says what is wrong with a robot URL without repeating it.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url does not parse")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("url scheme %q: want https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	return nil
}
