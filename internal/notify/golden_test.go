package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

var _ = []notify.Channel{notify.DingTalk{}, notify.Feishu{}, notify.WeCom{}, notify.Slack{}, notify.Webhook{}}

// text pulls the human-readable text out of a request body, and checks the
// platform's size limits on the way.
type textOf func(t *testing.T, body []byte) string

// chatCase is one chat channel, its robot's success answer, and what the
// golden test expects of its rendering of the fixture.
type chatCase struct {
	name     string
	channel  func(url string) notify.Channel
	answer   string
	text     textOf
	escaped  string // how the task with markup characters must read
	cutTasks bool   // the platform's limit forces the list short
}

func chatCases() []chatCase {
	return []chatCase{
		{
			name: "dingtalk",
			channel: func(url string) notify.Channel {
				return notify.DingTalk{URL: url + "/robot/send?access_token=tok", Secret: "SECtest", Options: notify.Options{Now: fixedNow}}
			},
			answer: `{"errcode":0,"errmsg":"ok"}`,
			text: func(t *testing.T, body []byte) string {
				if len(body) > 20000 {
					t.Errorf("DingTalk body is %d bytes, over 20000", len(body))
				}
				var m struct {
					MsgType  string
					Markdown struct{ Title, Text string }
				}
				mustDecode(t, body, &m)
				if m.MsgType != "markdown" || m.Markdown.Title != "CDN refresh report: 5 problems" {
					t.Errorf("DingTalk msgtype, title = %q, %q; want markdown, the headline", m.MsgType, m.Markdown.Title)
				}
				return m.Markdown.Text
			},
			escaped:  "`https://static.example.com/search?q=a&b=<c>&x=*y*_z_'w'` — Origin said <b>no</b> & \\[more\\]",
			cutTasks: true,
		},
		{
			name: "feishu",
			channel: func(url string) notify.Channel {
				return notify.Feishu{URL: url + "/open-apis/bot/v2/hook/hook-id", Secret: "test-secret", Options: notify.Options{Now: fixedNow}}
			},
			answer: `{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}`,
			text: func(t *testing.T, body []byte) string {
				if len(body) > 20<<10 {
					t.Errorf("Feishu body is %d bytes, over 20 KiB", len(body))
				}
				var m struct {
					Timestamp, Sign string
					MsgType         string `json:"msg_type"`
					Card            struct {
						Header struct {
							Title    struct{ Content string }
							Template string
						}
						Elements []struct{ Tag, Content string }
					}
				}
				mustDecode(t, body, &m)
				if m.MsgType != "interactive" || m.Card.Header.Template != "red" || m.Timestamp != strconv.FormatInt(clock.Unix(), 10) || m.Sign == "" {
					t.Errorf("Feishu msg_type, template, timestamp, sign = %q, %q, %q, %q; want interactive, red, %d, a signature",
						m.MsgType, m.Card.Header.Template, m.Timestamp, m.Sign, clock.Unix())
				}
				if len(m.Card.Elements) != 1 || m.Card.Elements[0].Tag != "markdown" {
					t.Fatalf("Feishu card elements = %+v, want one markdown element", m.Card.Elements)
				}
				return m.Card.Elements[0].Content
			},
			escaped:  "https://static.example.com/search?q=a&b=&lt;c&gt;&x=&#42;y&#42;&#95;z&#95;&#96;w&#96; — Origin said &lt;b&gt;no&lt;/b&gt; & &#91;more&#93;",
			cutTasks: true,
		},
		{
			name: "wecom",
			channel: func(url string) notify.Channel {
				return notify.WeCom{URL: url + "/cgi-bin/webhook/send?key=k", Options: notify.Options{Now: fixedNow}}
			},
			answer: `{"errcode":0,"errmsg":"ok"}`,
			text: func(t *testing.T, body []byte) string {
				var m struct {
					MsgType  string
					Markdown struct{ Content string }
				}
				mustDecode(t, body, &m)
				if n := len(m.Markdown.Content); n > 4096 {
					t.Errorf("WeCom content is %d bytes, over 4096", n)
				}
				return m.Markdown.Content
			},
			escaped:  "`https://static.example.com/search?q=a&b=<c>&x=*y*_z_'w'`",
			cutTasks: true,
		},
		{
			name: "slack",
			channel: func(url string) notify.Channel {
				return notify.Slack{URL: url + "/services/T0/B0/x", Options: notify.Options{Now: fixedNow}}
			},
			answer: "ok",
			text: func(t *testing.T, body []byte) string {
				var m struct {
					Text   string
					Blocks []struct {
						Type     string
						Text     *struct{ Type, Text string }
						Elements []struct{ Type, Text string }
					}
				}
				mustDecode(t, body, &m)
				if len(m.Blocks) > 50 {
					t.Errorf("Slack message has %d blocks, over 50", len(m.Blocks))
				}
				if !strings.HasPrefix(m.Text, "CDN refresh report: 5 problems: ") {
					t.Errorf("Slack text = %q, want the headline and problems", m.Text)
				}
				var all []string
				total := 0
				for i, b := range m.Blocks {
					if b.Text == nil {
						continue
					}
					n := utf8.RuneCountInString(b.Text.Text)
					total += n
					switch {
					case b.Type == "header" && n > 150:
						t.Errorf("Slack header is %d characters, over 150", n)
					case b.Type == "section" && n > 3000:
						t.Errorf("Slack block %d is %d characters, over 3000", i, n)
					}
					all = append(all, b.Text.Text)
				}
				if total > 40000 {
					t.Errorf("Slack blocks hold %d characters, over 40000", total)
				}
				return strings.Join(all, "\n")
			},
			escaped:  "`https://static.example.com/search?q=a&amp;b=&lt;c&gt;&amp;x=*y*_z_'w'` — Origin said &lt;b&gt;no&lt;/b&gt; &amp; [more]",
			cutTasks: false, // 250 tasks fit in 50 blocks; TestTooBigForOneMessage cuts
		},
	}
}

func TestGoldenBodies(t *testing.T) {
	t.Parallel()
	r := fixture()
	for _, tt := range chatCases() {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, answers(reply(http.StatusOK, tt.answer)))
			if err := tt.channel(rc.URL).Send(context.Background(), r); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
			}
			body := reqs[0].Body
			golden(t, tt.name+".golden", body)

			text := tt.text(t, body)
			for _, p := range r.Problems {
				if !strings.Contains(text, p) {
					t.Errorf("text lacks the problem %q", p)
				}
			}
			if !strings.Contains(text, tt.escaped) {
				t.Errorf("text lacks the escaped task %q", tt.escaped)
			}
			shown, more := taskCount(text)
			if shown+more != r.FailedCount() || shown == 0 {
				t.Errorf("text shows %d tasks and counts %d more, want some shown and %d in all", shown, more, r.FailedCount())
			}
			if cut := more > 0; cut != tt.cutTasks {
				t.Errorf("text cuts the task list: %v, want %v", cut, tt.cutTasks)
			}
		})
	}
}

var moreRE = regexp.MustCompile(`… and (\d+) more not shown`)

// taskCount counts the failed tasks a text shows, and how many it says it
// left out.
func taskCount(text string) (shown, more int) {
	shown = strings.Count(text, ", task ")
	if m := moreRE.FindStringSubmatch(text); m != nil {
		more, _ = strconv.Atoi(m[1])
	}
	return shown, more
}

func TestGoldenWebhook(t *testing.T) {
	t.Parallel()
	r := fixture()
	rc := newReceiver(t, answers(reply(http.StatusNoContent, "")))
	c := notify.Webhook{URL: rc.URL + "/hook", Secret: "s3cret", Options: notify.Options{Now: fixedNow}}
	if err := c.Send(context.Background(), r); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	golden(t, "webhook.golden", reqs[0].Body)

	var back report.Report
	mustDecode(t, reqs[0].Body, &back)
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("webhook body does not decode to the report (-want +got):\n%s", diff)
	}
}

// TestSmallReportFitsWhole checks that nothing is cut when all fits.
func TestSmallReportFitsWhole(t *testing.T) {
	t.Parallel()
	r := fixture()
	r.Failed, r.FailedTotal = r.Failed[:3], 3
	r.Problems = report.Policy{}.Problems(r)
	for _, tt := range chatCases() {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, answers(reply(http.StatusOK, tt.answer)))
			if err := tt.channel(rc.URL).Send(context.Background(), r); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			text := tt.text(t, rc.requests()[0].Body)
			if shown, more := taskCount(text); shown != 3 || more != 0 {
				t.Errorf("text shows %d tasks and counts %d more, want 3 and 0", shown, more)
			}
		})
	}
}

func mustDecode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("request body is not the JSON expected: %v\n%s", err, body)
	}
}

// TestTooBigForOneMessage feeds every channel more than fits: many more
// tasks, then notes too long to fit even without tasks. The bodies must
// keep within the limits (the text funcs check them) and say what is left
// out.
func TestTooBigForOneMessage(t *testing.T) {
	t.Parallel()
	many := fixture()
	for i := range 1500 {
		t := many.Failed[i%250]
		t.ID = strconv.Itoa(800000000 + i)
		many.Failed = append(many.Failed, t)
	}
	many.FailedTotal = len(many.Failed)
	many.Problems = report.Policy{}.Problems(many)

	notes := fixture()
	notes.Notes = nil
	for i := range 100 {
		notes.Notes = append(notes.Notes, strconv.Itoa(i)+strings.Repeat(" note", 400))
	}

	for _, tt := range chatCases() {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, answers(reply(http.StatusOK, tt.answer)))
			ch := tt.channel(rc.URL)

			if err := ch.Send(context.Background(), many); err != nil {
				t.Fatalf("Send(1750 tasks) = %v", err)
			}
			shown, more := taskCount(tt.text(t, rc.requests()[0].Body))
			if shown == 0 || more == 0 || shown+more != many.FailedCount() {
				t.Errorf("text shows %d tasks and counts %d more, want some of each, %d in all", shown, more, many.FailedCount())
			}

			if err := ch.Send(context.Background(), notes); err != nil {
				t.Fatalf("Send(huge notes) = %v", err)
			}
			text := tt.text(t, rc.requests()[1].Body)
			if shown, _ := taskCount(text); shown != 0 {
				t.Errorf("text with huge notes shows %d tasks, want 0", shown)
			}
			if !strings.HasSuffix(text, "…") && !strings.HasSuffix(text, "… the rest does not fit in one message") {
				t.Errorf("text with huge notes ends %q, want a mark of the cut", text[max(0, len(text)-40):])
			}
		})
	}
}
