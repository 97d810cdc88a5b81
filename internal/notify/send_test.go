package notify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		channel    func(url string, o notify.Options) notify.Channel
		answers    []func(http.ResponseWriter)
		wantSleeps []time.Duration
		wantCalls  int
		wantErr    string // "" for delivered
	}{
		{
			name:       "429 with Retry-After, then ok",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(429, "rate_limited", "Retry-After", "7"), reply(200, "ok")},
			wantSleeps: []time.Duration{7 * time.Second},
			wantCalls:  2,
		},
		{
			name:       "Retry-After shorter than the backoff",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(429, "rate_limited", "Retry-After", "1"), reply(200, "ok")},
			wantSleeps: []time.Duration{2 * time.Second},
			wantCalls:  2,
		},
		{
			name:       "Retry-After as a date",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(429, "rate_limited", "Retry-After", clock.Add(30*time.Second).Format(http.TimeFormat)), reply(200, "ok")},
			wantSleeps: []time.Duration{30 * time.Second},
			wantCalls:  2,
		},
		{
			name:    "Retry-After too long is not waited for",
			channel: func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers: []func(http.ResponseWriter){reply(429, "rate_limited", "Retry-After", "3600"), reply(200, "ok")},
			wantErr: "notify slack: HTTP 429, code rate_limited (asked to retry after 1h0m0s)", wantCalls: 1,
		},
		{
			name:       "5xx twice, then ok",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.WeCom{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(502, "bad gateway"), reply(503, ""), reply(200, `{"errcode":0,"errmsg":"ok"}`)},
			wantSleeps: []time.Duration{2 * time.Second, 4 * time.Second},
			wantCalls:  3,
		},
		{
			name:       "dingtalk too fast, then ok",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.DingTalk{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(200, `{"errcode":130101,"errmsg":"send too fast"}`), reply(200, `{"errcode":0,"errmsg":"ok"}`)},
			wantSleeps: []time.Duration{2 * time.Second},
			wantCalls:  2,
		},
		{
			name:       "wecom rate limit every time",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.WeCom{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(200, `{"errcode":45009,"errmsg":"api freq out of limit"}`)},
			wantSleeps: []time.Duration{2 * time.Second, 4 * time.Second},
			wantCalls:  3,
			wantErr:    "notify wecom: HTTP 200, code 45009: api freq out of limit (after 3 attempts)",
		},
		{
			name:       "feishu frequency limited, then ok",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.Feishu{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(200, `{"code":11232,"msg":"frequency limited"}`), reply(200, `{"code":0,"msg":"success"}`)},
			wantSleeps: []time.Duration{2 * time.Second},
			wantCalls:  2,
		},
		{
			name:      "dingtalk keyword error is final",
			channel:   func(u string, o notify.Options) notify.Channel { return notify.DingTalk{URL: u, Options: o} },
			answers:   []func(http.ResponseWriter){reply(200, `{"errcode":310000,"errmsg":"keywords not in content"}`)},
			wantCalls: 1,
			wantErr:   "notify dingtalk: HTTP 200, code 310000: keywords not in content",
		},
		{
			name:      "feishu old-style error answer",
			channel:   func(u string, o notify.Options) notify.Channel { return notify.Feishu{URL: u, Options: o} },
			answers:   []func(http.ResponseWriter){reply(200, `{"StatusCode":19024,"StatusMessage":"Key Words Not Found"}`)},
			wantCalls: 1,
			wantErr:   "notify feishu: HTTP 200, code 19024: Key Words Not Found",
		},
		{
			name:      "slack 404 is final",
			channel:   func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers:   []func(http.ResponseWriter){reply(404, "no_service")},
			wantCalls: 1,
			wantErr:   "notify slack: HTTP 404, code no_service",
		},
		{
			name:      "slack 200 without ok",
			channel:   func(u string, o notify.Options) notify.Channel { return notify.Slack{URL: u, Options: o} },
			answers:   []func(http.ResponseWriter){reply(200, "")},
			wantCalls: 1,
			wantErr:   "notify slack: HTTP 200",
		},
		{
			name:      "unreadable answer is no delivery",
			channel:   func(u string, o notify.Options) notify.Channel { return notify.DingTalk{URL: u, Options: o} },
			answers:   []func(http.ResponseWriter){reply(200, "<html>portal</html>")},
			wantCalls: 1,
			wantErr:   `notify dingtalk: HTTP 200: unexpected answer "<html>portal</html>"`,
		},
		{
			name:       "webhook 500 every time",
			channel:    func(u string, o notify.Options) notify.Channel { return notify.Webhook{URL: u, Options: o} },
			answers:    []func(http.ResponseWriter){reply(500, "down")},
			wantSleeps: []time.Duration{2 * time.Second, 4 * time.Second},
			wantCalls:  3,
			wantErr:    `notify webhook: HTTP 500: "down" (after 3 attempts)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, answers(tt.answers...))
			var s sleeps
			ch := tt.channel(rc.URL, notify.Options{Now: fixedNow, Sleep: s.sleep})
			err := ch.Send(context.Background(), report.Report{Generated: clock})
			if tt.wantErr == "" && err != nil {
				t.Errorf("Send() = %v, want delivered", err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("Send() = %v, want %s", err, tt.wantErr)
			}
			if got := len(rc.requests()); got != tt.wantCalls {
				t.Errorf("receiver got %d requests, want %d", got, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantSleeps, s.got()); diff != "" {
				t.Errorf("waits between attempts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, answers(reply(503, "")))
	ctx, cancel := context.WithCancel(context.Background())
	ch := notify.WeCom{URL: rc.URL, Options: notify.Options{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}}}
	err := ch.Send(ctx, report.Report{})
	if got := len(rc.requests()); got != 1 {
		t.Errorf("receiver got %d requests, want 1 (no retry after cancel)", got)
	}
	var e *notify.Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("Send() = %v, want the 503 that was answered", err)
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const (
		token  = "a1b2c3d4e5f6a7b8c9d0"
		secret = "SECs3cr3t-value"
		hookID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	)
	echo := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		// A robot that quotes the request back.
		io.WriteString(w, `{"errcode":300001,"errmsg":"token `+r.URL.Query().Get("access_token")+` is invalid, sign `+r.URL.Query().Get("sign")+`"}`)
	})
	closed := newReceiver(t, answers(reply(200, "")))
	closed.Close() // nothing listens there any more

	tests := []struct {
		name string
		ch   notify.Channel
	}{
		{"answer quoting the token", notify.DingTalk{URL: echo.URL + "/robot/send?access_token=" + token, Secret: secret}},
		{"dingtalk unreachable", notify.DingTalk{URL: closed.URL + "/robot/send?access_token=" + token, Secret: secret}},
		{"feishu unreachable", notify.Feishu{URL: closed.URL + "/open-apis/bot/v2/hook/" + hookID, Secret: secret}},
		{"wecom unreachable", notify.WeCom{URL: closed.URL + "/cgi-bin/webhook/send?key=" + token}},
		{"slack unreachable", notify.Slack{URL: closed.URL + "/services/T0000/B0000/" + token}},
		{"webhook unreachable", notify.Webhook{URL: closed.URL + "/hook?token=" + token, Secret: secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleeps
			ch := withOptions(tt.ch, notify.Options{Sleep: s.sleep})
			err := ch.Send(context.Background(), report.Report{})
			if err == nil {
				t.Fatal("Send() = nil, want an error")
			}
			msg := err.Error()
			for _, x := range []string{token, secret, hookID} {
				if strings.Contains(msg, x) {
					t.Errorf("Send() error %q contains a secret %q", msg, x)
				}
			}
			if !strings.HasPrefix(msg, "notify "+ch.Name()+": ") {
				t.Errorf("Send() error %q does not start with the channel's name", msg)
			}
		})
	}
}

// withOptions returns ch with o set.
func withOptions(ch notify.Channel, o notify.Options) notify.Channel {
	switch c := ch.(type) {
	case notify.DingTalk:
		c.Options = o
		return c
	case notify.Feishu:
		c.Options = o
		return c
	case notify.WeCom:
		c.Options = o
		return c
	case notify.Slack:
		c.Options = o
		return c
	case notify.Webhook:
		c.Options = o
		return c
	}
	panic("unknown channel type")
}

func TestNew(t *testing.T) {
	t.Parallel()
	chans, err := notify.New([]notify.ChannelConfig{
		{Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?access_token=a", Secret: "SECx"},
		{Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?access_token=b"},
		{Type: "feishu", URL: "https://open.feishu.cn/open-apis/bot/v2/hook/x", Name: "ops"},
		{Type: "lark", URL: "https://open.larksuite.com/open-apis/bot/v2/hook/y"},
		{Type: "wecom", URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
		{Type: "slack", URL: "https://hooks.slack.com/services/T/B/x"},
		{Type: "webhook", URL: "http://127.0.0.1:9/hook", Secret: "s"},
	}, nil, fixedNow)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	var names []string
	for _, c := range chans {
		names = append(names, c.Name())
	}
	want := []string{"dingtalk-1", "dingtalk-2", "ops", "lark", "wecom", "slack", "webhook"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("New() channel names mismatch (-want +got):\n%s", diff)
	}
	if f, ok := chans[3].(notify.Feishu); !ok || f.Now == nil {
		t.Errorf("New() lark channel = %T with Now set %v, want a Feishu with the clock", chans[3], ok && f.Now != nil)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	const token = "tok-9f8e7d6c5b4a"
	tests := []struct {
		name string
		cfg  []notify.ChannelConfig
		want string
	}{
		{"unknown type", []notify.ChannelConfig{{Type: "teams", URL: "https://x.example/"}}, `notify.channels[0] (teams): unknown type "teams"`},
		{"no url", []notify.ChannelConfig{{Type: "slack"}}, "notify.channels[0] (slack): url is required"},
		{"bad scheme", []notify.ChannelConfig{{Type: "wecom", URL: "ftp://qyapi.weixin.qq.com/?key=" + token}}, `url scheme "ftp": want https`},
		{"no host", []notify.ChannelConfig{{Type: "webhook", URL: "https:///hook?token=" + token}}, "url has no host"},
		{"unparsable", []notify.ChannelConfig{{Type: "dingtalk", URL: "https://bad host/?access_token=" + token}}, "url does not parse"},
		{"secret on wecom", []notify.ChannelConfig{{Type: "wecom", URL: "https://qyapi.weixin.qq.com/", Secret: "x"}}, "wecom robots do not sign"},
		{"duplicate name", []notify.ChannelConfig{
			{Type: "slack", URL: "https://hooks.slack.com/a", Name: "ops"},
			{Type: "wecom", URL: "https://qyapi.weixin.qq.com/", Name: "ops"},
		}, `notify.channels[1] (wecom): name "ops" is already used by notify.channels[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chans, err := notify.New(tt.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() = %v, %v; want an error containing %q", chans, err, tt.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("New() error %q contains the URL's token", err)
			}
		})
	}
}
