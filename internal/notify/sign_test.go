package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// The robots' real answers to a bad signature or address.
const (
	dingTalkSignMismatch = `{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`
	feishuSignMismatch   = `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`
	weComBadKey          = `{"errcode":93000,"errmsg":"invalid webhook url, hint: [1717200000_1_abc], from ip: 127.0.0.1"}`
)

// within reports whether a timestamp is within an hour of the receiver's
// clock, which both platforms require.
func within(ts time.Time) bool {
	d := ts.Sub(clock)
	return d < time.Hour && d > -time.Hour
}

// dingTalkRobot verifies a request the way DingTalk documents it:
// timestamp (ms) and sign from the query, sign =
// base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
func dingTalkRobot(secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ts, sign := q.Get("timestamp"), q.Get("sign")
		ms, err := strconv.ParseInt(ts, 10, 64)
		mac := hmac.New(sha256.New, []byte(secret))
		io.WriteString(mac, ts+"\n"+secret)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if q.Get("access_token") != "tok" || err != nil || !within(time.UnixMilli(ms)) || !hmac.Equal([]byte(sign), []byte(want)) {
			io.WriteString(w, dingTalkSignMismatch)
			return
		}
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}
}

// feishuRobot verifies a request the way Feishu documents it: timestamp
// (s) and sign in the body, sign = base64(HMAC-SHA256(key =
// timestamp+"\n"+secret, message = "")).
func feishuRobot(secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Timestamp, Sign string }
		json.NewDecoder(r.Body).Decode(&body)
		sec, err := strconv.ParseInt(body.Timestamp, 10, 64)
		mac := hmac.New(sha256.New, []byte(body.Timestamp+"\n"+secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if err != nil || !within(time.Unix(sec, 0)) || !hmac.Equal([]byte(body.Sign), []byte(want)) {
			io.WriteString(w, feishuSignMismatch)
			return
		}
		io.WriteString(w, `{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}`)
	}
}

// webhookReceiver verifies the project's generic signature.
func webhookReceiver(secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Cdnrefresh-Timestamp")
		mac := hmac.New(sha256.New, []byte(secret))
		io.WriteString(mac, ts+".")
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(r.Header.Get("X-Cdnrefresh-Signature")), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	stale := func() time.Time { return clock.Add(-2 * time.Hour) }
	tests := []struct {
		name     string
		robot    http.HandlerFunc
		channel  func(url string) notify.Channel
		wantCode string // "" for delivered
		wantMsg  string
	}{
		{
			name:    "dingtalk right secret",
			robot:   dingTalkRobot("SECright"),
			channel: func(u string) notify.Channel { return dingTalk(u, "SECright", fixedNow) },
		},
		{
			name:     "dingtalk wrong secret",
			robot:    dingTalkRobot("SECright"),
			channel:  func(u string) notify.Channel { return dingTalk(u, "SECwrong", fixedNow) },
			wantCode: "310000", wantMsg: "sign not match",
		},
		{
			name:     "dingtalk no secret",
			robot:    dingTalkRobot("SECright"),
			channel:  func(u string) notify.Channel { return dingTalk(u, "", fixedNow) },
			wantCode: "310000",
		},
		{
			name:     "dingtalk stale timestamp",
			robot:    dingTalkRobot("SECright"),
			channel:  func(u string) notify.Channel { return dingTalk(u, "SECright", stale) },
			wantCode: "310000",
		},
		{
			name:  "feishu right secret",
			robot: feishuRobot("right"),
			channel: func(u string) notify.Channel {
				return notify.Feishu{URL: u + "/open-apis/bot/v2/hook/h", Secret: "right", Options: notify.Options{Now: fixedNow}}
			},
		},
		{
			name:  "feishu wrong secret",
			robot: feishuRobot("right"),
			channel: func(u string) notify.Channel {
				return notify.Feishu{URL: u + "/open-apis/bot/v2/hook/h", Secret: "wrong", Options: notify.Options{Now: fixedNow}}
			},
			wantCode: "19021", wantMsg: "sign match fail",
		},
		{
			name:  "lark stale timestamp",
			robot: feishuRobot("right"),
			channel: func(u string) notify.Channel {
				return notify.Feishu{URL: u + "/open-apis/bot/v2/hook/h", Secret: "right", Options: notify.Options{Label: "lark", Now: stale}}
			},
			wantCode: "19021",
		},
		{
			name: "wecom bad key",
			robot: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("key") != "good" {
					io.WriteString(w, weComBadKey)
					return
				}
				io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
			},
			channel:  func(u string) notify.Channel { return notify.WeCom{URL: u + "/cgi-bin/webhook/send?key=bad"} },
			wantCode: "93000", wantMsg: "invalid webhook url",
		},
		{
			name:    "webhook right secret",
			robot:   webhookReceiver("right"),
			channel: func(u string) notify.Channel { return notify.Webhook{URL: u, Secret: "right"} },
		},
		{
			name:    "webhook wrong secret",
			robot:   webhookReceiver("right"),
			channel: func(u string) notify.Channel { return notify.Webhook{URL: u, Secret: "wrong"} },
			wantMsg: "bad signature",
		},
	}
	r := fixture()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.robot)
			ch := tt.channel(rc.URL)
			err := ch.Send(context.Background(), r)
			if got := len(rc.requests()); got != 1 {
				t.Errorf("receiver got %d requests, want 1 (a refusal is never retried)", got)
			}
			if tt.wantCode == "" && tt.wantMsg == "" {
				if err != nil {
					t.Errorf("Send() = %v, want delivered", err)
				}
				return
			}
			var e *notify.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send() = %v, want a *notify.Error", err)
			}
			if e.Channel != ch.Name() || e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("Send() error channel, code, message = %q, %q, %q; want %q, %q, one containing %q",
					e.Channel, e.Code, e.Message, ch.Name(), tt.wantCode, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), ch.Name()) || !strings.Contains(err.Error(), tt.wantCode) {
				t.Errorf("Send() error %q does not name the channel %q and code %q", err, ch.Name(), tt.wantCode)
			}
		})
	}
}

func dingTalk(base, secret string, now func() time.Time) notify.DingTalk {
	return notify.DingTalk{URL: base + "/robot/send?access_token=tok", Secret: secret, Options: notify.Options{Now: now}}
}

// TestDingTalkSignIsURLEncoded checks the raw query: base64's + / = must
// arrive percent-encoded.
func TestDingTalkSignIsURLEncoded(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, dingTalkRobot("SECright"))
	if err := dingTalk(rc.URL, "SECright", fixedNow).Send(context.Background(), report.Report{}); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	raw := rc.requests()[0].URL
	ms := strconv.FormatInt(clock.UnixMilli(), 10)
	if !strings.Contains(raw, "timestamp="+ms) {
		t.Errorf("request URL %q lacks timestamp=%s", raw, ms)
	}
	_, sign, _ := strings.Cut(raw, "sign=")
	sign, _, _ = strings.Cut(sign, "&")
	if sign == "" || strings.ContainsAny(sign, "+/=") {
		t.Errorf("sign in %q is not URL-encoded", raw)
	}
}
