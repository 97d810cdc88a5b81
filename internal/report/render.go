package report

import (
	"cmp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Style says how a rendering marks text up. Every field is optional: the
// zero Style renders plain text with nothing cut.
type Style struct {
	Heading func(string) string // the headline line
	Bold    func(string) string // section titles
	Code    func(string) string // URLs, task ids, error codes and detail lines
	Escape  func(string) string // any other text that comes from the report's data
	Item    string              // list marker; "- " when empty
	SubItem string              // marker of a task's detail lines; "    " when empty
	// NoHeadline leaves the headline out, for channels that show it
	// elsewhere (a card's header).
	NoHeadline bool
	// Clip is the longest URL, description or detail, in characters, that
	// is shown whole; longer ones are cut with "…". 0 cuts nothing.
	Clip int
	// MaxDetails is how many detail lines a task shows; 0 shows all.
	MaxDetails int
}

// Section is one titled part of a rendered report. Each line is one list
// item, with its own marker; a task's detail lines are part of its item.
type Section struct {
	Title string // already marked up
	Lines []string
}

func apply(f func(string) string, s string) string {
	if f == nil {
		return s
	}
	return f(s)
}

// Top returns the headline (unless s.NoHeadline) and the line saying when
// and for which account the report was made, each marked up.
func (s Style) Top(r Report) []string {
	var out []string
	if !s.NoHeadline {
		out = append(out, apply(s.Heading, Headline(r)))
	}
	var about []string
	if !r.Generated.IsZero() {
		about = append(about, "Generated "+r.Generated.Format(TimeLayout))
	}
	if r.Account != "" {
		about = append(about, "account "+apply(s.Escape, r.Account))
	}
	if len(about) > 0 {
		out = append(out, strings.Join(about, ", "))
	}
	return out
}

// Sections renders r in style s, showing at most shown failed tasks (the
// failed-task section comes last; it ends with "… and N more not shown"
// when some are left out). Empty parts are left out.
func (s Style) Sections(r Report, shown int) []Section {
	item := cmp.Or(s.Item, "- ")
	var out []Section
	add := func(title string, lines []string) {
		if len(lines) > 0 {
			out = append(out, Section{apply(s.Bold, title), lines})
		}
	}
	var lines []string
	for _, p := range r.Problems {
		lines = append(lines, item+apply(s.Escape, p))
	}
	add("Problems", lines)

	lines = nil
	for _, q := range r.Quotas {
		lines = append(lines, item+apply(s.Escape, q.String()))
	}
	add("Quota left today", lines)

	lines = nil
	if r.Spill.Count > 0 {
		lines = append(lines, item+apply(s.Escape, r.Spill.String()))
	}
	if len(r.Spill.ByReason) > 0 {
		lines = append(lines, item+"by reason: "+s.counts(r.Spill.ByReason))
	}
	add("Spill", lines)

	lines = nil
	if !r.Replay.Empty() {
		lines = append(lines, item+r.Replay.String())
	}
	if len(r.Replay.ByReason) > 0 {
		lines = append(lines, item+"by reason: "+s.counts(r.Replay.ByReason))
	}
	add("Replay", lines)

	lines = nil
	for _, f := range r.Freshness {
		lines = append(lines, item+apply(s.Escape, f.String()))
	}
	if !r.Following.Empty() {
		lines = append(lines, item+r.Following.String())
	}
	for _, u := range r.Following.FailedForGood {
		lines = append(lines, item+"failed for good: "+apply(s.Escape, u))
	}
	for _, c := range r.Following.Collapses {
		lines = append(lines, item+"1 directory unit: "+apply(s.Escape, c))
	}
	add("Freshness", lines)

	lines = nil
	for _, n := range r.Notes {
		lines = append(lines, item+apply(s.Escape, n))
	}
	add("Notes", lines)

	total := r.FailedCount()
	shown = min(max(shown, 0), len(r.Failed))
	lines = nil
	loc := r.Generated.Location()
	for _, t := range r.Failed[:shown] {
		lines = append(lines, item+s.task(t, loc))
	}
	if more := total - shown; more > 0 {
		lines = append(lines, item+"… and "+strconv.Itoa(more)+" more not shown")
	}
	add("Failed tasks: "+strconv.Itoa(total), lines)
	return out
}

// Render renders r in style s as one text, showing at most shown failed
// tasks.
func (s Style) Render(r Report, shown int) string {
	var b strings.Builder
	top := s.Top(r)
	b.WriteString(strings.Join(top, "\n"))
	for i, sec := range s.Sections(r, shown) {
		if i > 0 || len(top) > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(sec.Title)
		for _, l := range sec.Lines {
			b.WriteString("\n")
			b.WriteString(l)
		}
	}
	return b.String()
}

// Text renders r as plain text, every task read shown in full.
func Text(r Report) string {
	return Style{}.Render(r, len(r.Failed)) + "\n"
}

// task renders one failed task and its details:
// "URL — reason (CDN file, task 123, 06-01 08:12)".
func (s Style) task(t Task, loc *time.Location) string {
	why := cmp.Or(t.Description, t.Status)
	var b strings.Builder
	b.WriteString(apply(s.Code, s.clip(t.URL)))
	if why != "" {
		b.WriteString(" — " + apply(s.Escape, s.clip(why)))
	}
	about := []string{strings.TrimSpace(providerName(t.Provider) + " " + apply(s.Escape, t.ObjectType))}
	if t.ID != "" {
		about = append(about, "task "+apply(s.Code, t.ID))
	}
	if !t.Created.IsZero() {
		about = append(about, t.Created.In(loc).Format("01-02 15:04"))
	}
	b.WriteString(" (" + strings.Join(about, ", ") + ")")

	sub := cmp.Or(s.SubItem, "    ")
	details := t.Details
	if s.MaxDetails > 0 && len(details) > s.MaxDetails {
		details = details[:s.MaxDetails]
	}
	for _, d := range details {
		b.WriteString("\n" + sub + apply(s.Code, s.clip(d)))
	}
	if more := len(t.Details) - len(details); more > 0 {
		b.WriteString("\n" + sub + "… and " + strconv.Itoa(more) + " more")
	}
	return b.String()
}

// counts writes reasons and their counts: "`QuotaExceeded.Refresh` 10, `Throttling` 2".
func (s Style) counts(m map[string]int) string {
	var parts []string
	for _, c := range Counts(m) {
		parts = append(parts, apply(s.Code, s.clip(c.Name))+" "+strconv.Itoa(c.N))
	}
	return strings.Join(parts, ", ")
}

// clip cuts text longer than s.Clip characters.
func (s Style) clip(text string) string {
	if s.Clip <= 0 {
		return text
	}
	return Clip(text, s.Clip)
}

// Clip cuts text to at most n characters (n ≥ 1), marking the cut with "…".
func Clip(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	return string([]rune(text)[:max(n-1, 0)]) + "…"
}
