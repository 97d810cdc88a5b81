package notify

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// Slack limits (https://api.slack.com/reference/block-kit/blocks,
// https://api.slack.com/messaging/webhooks).
const (
	slackMaxBlocks      = 50    // blocks per message
	slackMaxSectionText = 3000  // characters of a section block's text
	slackMaxHeaderText  = 150   // characters of a header block's text
	slackMaxChars       = 40000 // Slack cuts a message's text there; we hold the blocks to it too
	slackMaxFallback    = 1000  // our bound for the notification text
)

// Slack is a Slack incoming webhook. Messages carry a short text (the
// notification) and Block Kit blocks: a header, a context line and mrkdwn
// sections. Slack answers a delivered message with the plain text "ok".
type Slack struct {
	URL string // https://hooks.slack.com/services/T…/B…/…
	Options
}

// Name is the channel's label, "slack" by default.
func (c Slack) Name() string { return cmp.Or(c.Label, TypeSlack) }

// Send posts r as one message.
func (c Slack) Send(ctx context.Context, r report.Report) error {
	return robot{
		Options: c.Options,
		name:    c.Name(),
		secrets: sensitive(c.URL, ""),
		build:   func(time.Time) (request, error) { return c.request(r) },
		check:   slackAnswer,
	}.send(ctx)
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

var slackStyle = report.Style{
	NoHeadline: true, // the header block shows it
	Bold:       func(s string) string { return "*" + s + "*" },
	Code:       func(s string) string { return codeSpan(slackEscape(s)) },
	Escape:     func(s string) string { return slackEscape(strings.ReplaceAll(s, "\n", " ")) },
	Item:       "• ",
	SubItem:    "      ◦ ",
	Clip:       clipChars,
	MaxDetails: maxDetails,
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

func (c Slack) request(r report.Report) (request, error) {
	fallback := report.Headline(r)
	if len(r.Problems) > 0 {
		fallback += ": " + strings.Join(r.Problems, "; ")
	}
	var top []slackBlock
	top = append(top, slackBlock{Type: "header", Text: &slackText{"plain_text", report.Clip(report.Headline(r), slackMaxHeaderText)}})
	if about := slackStyle.Top(r); len(about) > 0 {
		top = append(top, slackBlock{Type: "context", Elements: []slackText{{"mrkdwn", strings.Join(about, "\n")}}})
	}
	blocks := func(k int) []slackBlock {
		out := slices.Clone(top)
		for _, sec := range slackStyle.Sections(r, k) {
			for _, text := range pack(sec.Title, sec.Lines, slackMaxSectionText) {
				out = append(out, slackBlock{Type: "section", Text: &slackText{"mrkdwn", text}})
			}
		}
		return out
	}
	k := mostShown(len(r.Failed), func(k int) bool {
		b := blocks(k)
		return len(b) <= slackMaxBlocks && chars(b) <= slackMaxChars
	})
	b := blocks(max(k, 0))
	if k < 0 { // too much even without tasks: keep the first blocks that fit
		cut := slackBlock{Type: "section", Text: &slackText{"mrkdwn", "… the rest does not fit in one message"}}
		n := mostShown(len(b), func(n int) bool {
			return n+1 <= slackMaxBlocks && chars(b[:n])+chars([]slackBlock{cut}) <= slackMaxChars
		})
		b = append(b[:n:n], cut)
	}
	body, err := marshal(struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}{slackEscape(report.Clip(fallback, slackMaxFallback)), b})
	return request{url: c.URL, body: body}, err
}

// pack joins a title and its lines into texts of at most limit characters,
// the title leading the first; a line longer than limit on its own is cut.
func pack(title string, lines []string, limit int) []string {
	var out []string
	cur := title
	for _, l := range lines {
		l = report.Clip(l, limit)
		if utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(l) > limit {
			out = append(out, cur)
			cur = l
			continue
		}
		cur += "\n" + l
	}
	return append(out, cur)
}

// chars counts the characters of the blocks' texts.
func chars(blocks []slackBlock) int {
	n := 0
	for _, b := range blocks {
		if b.Text != nil {
			n += utf8.RuneCountInString(b.Text.Text)
		}
		for _, e := range b.Elements {
			n += utf8.RuneCountInString(e.Text)
		}
	}
	return n
}

// slackAnswer: a delivered message is answered "ok"; an error is a short
// string such as invalid_payload or no_service.
func slackAnswer(status int, body []byte) *Error {
	answer := strings.TrimSpace(string(body))
	if success(status) && answer == "ok" {
		return nil
	}
	return &Error{Code: report.Clip(answer, 100)}
}
