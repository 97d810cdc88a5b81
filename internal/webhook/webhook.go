package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Runner carries a decoded event through the pipeline; *refresh.Pipeline
// is one.
type Runner interface {
	Run(ctx context.Context, ev refresh.Event) (refresh.Report, error)
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxURLs      = 1000
	DefaultReplayTTL    = 10 * time.Minute
	// replayLimit bounds the default in-memory replay cache.
	replayLimit = 100_000
	// retryAfter is what a 503 asks the caller to wait, in seconds.
	retryAfter = 5
)

// Options configure the webhook handler.
type Options struct {
	// Secret authenticates requests (see the package documentation for
	// the schemes). Required unless AuthNone is set.
	Secret string
	// AuthNone turns authentication off; config says webhook.auth: none.
	AuthNone bool
	// MaxBodyBytes caps a request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxURLs caps the items one request may name (default 1000).
	MaxURLs int
	// Templates map a content type to the URLs of its entries ("*" for any
	// type).
	Templates map[string]Template
	// Domain is the host that paths, path templates and relative URLs are
	// put on.
	Domain string
	// AllowedDomain reports whether the rules allow refreshing a host (in
	// lower case, with the port the URL names unless it is the scheme's
	// default: origin.example.com:8080); nil allows all and
	// leaves the check to the pipeline's rules.
	AllowedDomain func(host string) bool
	// GitHub maps the files of GitHub pushes.
	GitHub GitHub
	// ReplayTTL is how long an accepted signature is remembered (default
	// 10 minutes, more than twice MaxSkew).
	ReplayTTL time.Duration
	// Seen remembers signatures; default in memory, per instance.
	Seen ReplayCache
	// RateLimit caps authenticated requests per second on this instance
	// (0: no cap); RateBurst is the burst (default: RateLimit, at least 1).
	RateLimit float64
	RateBurst int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger returns the logger of the request whose context it is given;
	// each request writes one line to it. platform.Logger returns the
	// platform's, which carries the request_id. Default: discard.
	Logger func(ctx context.Context) *slog.Logger
}

// Rejection is one item of a request that will not be refreshed, and why.
type Rejection struct {
	// Field is where in the request the item was: urls[2], paths[0], keys[1].
	Field string `json:"field,omitempty"`
	URL   string `json:"url,omitempty"`
	Path  string `json:"path,omitempty"`
	Key   string `json:"key,omitempty"`
	Tag   string `json:"tag,omitempty"`
	// Item names the CMS entry, such as "article 12".
	Item   string `json:"item,omitempty"`
	Reason string `json:"reason"`
}

// Answer is the JSON body of a 202 reply, and of a 503 with Error set.
type Answer struct {
	Error   string `json:"error,omitempty"`
	EventID string `json:"event_id"`
	// Changes counts the changes handed to the pipeline: one per item and
	// action (an item with action both asks for two: purge and prefetch).
	Changes int `json:"changes"`
	// Accepted counts the jobs submitted now, or stored for later
	// (spilled, or waiting for their purge).
	Accepted  int `json:"accepted"`
	Submitted int `json:"submitted"`
	Duplicate int `json:"duplicate"`
	Spilled   int `json:"spilled"`
	Waiting   int `json:"waiting"`
	Canceled  int `json:"canceled,omitempty"`
	Failed    int `json:"failed,omitempty"`
	// Collapsed says which directory refreshes carried the request's file
	// refreshes, and why (refresh.Report.Collapsed).
	Collapsed []string          `json:"collapsed,omitempty"`
	Rejected  []Rejection       `json:"rejected"`
	Ignored   []refresh.Ignored `json:"ignored"`
	Tasks     []string          `json:"tasks"`
}

// ErrorBody is the JSON body of an error reply.
type ErrorBody struct {
	Error string `json:"error"`
	// Field names the request field or header at fault, when one is.
	Field string `json:"field,omitempty"`
	// Rejected lists the items when all of them were refused.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// route is one endpoint: its decoder and the schemes it accepts, in order
// of preference.
type route struct {
	name    string
	decode  func(*decoder, []byte, meta) (decoded, error)
	schemes []scheme
}

var routes = map[string]route{
	"/refresh":          {"generic", (*decoder).generic, []scheme{schemeGeneric}},
	"/hooks/github":     {"github", (*decoder).github, []scheme{schemeGitHub, schemeGeneric}},
	"/hooks/strapi":     {"strapi", (*decoder).strapi, []scheme{schemeGeneric, schemeToken}},
	"/hooks/contentful": {"contentful", (*decoder).contentful, []scheme{schemeContentful, schemeGeneric, schemeToken}},
	"/hooks/sanity":     {"sanity", (*decoder).sanity, []scheme{schemeSanity, schemeGeneric}},
	"/hooks/ghost":      {"ghost", (*decoder).ghost, []scheme{schemeGhost, schemeGeneric}},
	"/hooks/wordpress":  {"wordpress", (*decoder).wordpress, []scheme{schemeGeneric, schemeToken}},
}

// detect picks the adapter for a native payload posted to /refresh by a
// header only its product sends.
func detect(h http.Header) (string, bool) {
	switch {
	case h.Get("X-GitHub-Event") != "":
		return "/hooks/github", true
	case h.Get("X-Contentful-Topic") != "":
		return "/hooks/contentful", true
	case h.Get("Sanity-Webhook-Signature") != "":
		return "/hooks/sanity", true
	case h.Get("X-Ghost-Signature") != "":
		return "/hooks/ghost", true
	case h.Get("X-Strapi-Event") != "":
		return "/hooks/strapi", true
	}
	return "", false
}

// handler serves the webhook routes.
type handler struct {
	o       Options
	run     Runner
	dec     *decoder
	auth    *authenticator
	limiter *rate.Limiter
}

// New returns the webhook handler. It fails when there is no secret and
// authentication is not explicitly off, and when a template is malformed.
func New(o Options, r Runner) (http.Handler, error) {
	if o.Secret == "" && !o.AuthNone {
		return nil, errors.New("webhook: no secret: set CDNREFRESH_WEBHOOK_SECRET or webhook.auth: none")
	}
	if r == nil {
		return nil, errors.New("webhook: New needs a Runner")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxURLs <= 0 {
		o.MaxURLs = DefaultMaxURLs
	}
	if o.ReplayTTL <= 0 {
		o.ReplayTTL = DefaultReplayTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		discard := slog.New(slog.DiscardHandler)
		o.Logger = func(context.Context) *slog.Logger { return discard }
	}
	if o.Seen == nil {
		o.Seen = newMemoryReplay(replayLimit, o.Now)
	}
	o.Domain = strings.ToLower(strings.TrimSpace(o.Domain))
	if o.Domain != "" {
		if err := refresh.CheckHost(o.Domain); err != nil {
			return nil, fmt.Errorf("webhook: domain: %w", err)
		}
	}
	d := &decoder{domain: o.Domain, allowed: o.AllowedDomain, gh: o.GitHub, maxURLs: o.MaxURLs,
		templates: make(map[string]*compiled, len(o.Templates))}
	for typ, t := range o.Templates {
		c, err := compileTemplate(t, o.Domain)
		if err != nil {
			return nil, fmt.Errorf("webhook: template for %q: %w", typ, err)
		}
		d.templates[typ] = c
	}
	h := &handler{o: o, run: r, dec: d, auth: &authenticator{secret: []byte(o.Secret), now: o.Now}}
	if o.RateLimit > 0 {
		burst := o.RateBurst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(o.RateLimit)))
		}
		h.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), burst)
	}
	return h, nil
}

// exchange is one request and what became of it, for the log line.
type exchange struct {
	w      http.ResponseWriter
	route  string
	scheme string
	status int
	err    string
	answer *Answer
}

func (x *exchange) json(status int, v any) {
	x.status = status
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"encode reply"}`)
	}
	x.w.Write(append(b, '\n'))
}

// fail answers an error: a *requestError with its status and field,
// anything else as 400.
func (x *exchange) fail(err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = badRequest("", "%v", err)
	}
	x.err = re.Error()
	x.json(re.status, ErrorBody{Error: re.msg, Field: re.field})
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.o.Now()
	x := &exchange{w: w, route: r.URL.Path}
	defer func() {
		if p := recover(); p != nil {
			h.o.Logger(r.Context()).Error("webhook: panic", "route", x.route, "error", fmt.Sprint(p), "stack", string(debug.Stack()))
			x.json(http.StatusInternalServerError, ErrorBody{Error: "internal error"})
			return
		}
		h.logLine(r, x, start)
	}()
	h.serve(r, x)
}

func (h *handler) serve(r *http.Request, x *exchange) {
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	if path == "/healthz" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			x.w.Header().Set("Allow", "GET, HEAD")
			x.fail(&requestError{status: http.StatusMethodNotAllowed, msg: r.Method + " not allowed: use GET"})
			return
		}
		x.json(http.StatusOK, map[string]bool{"ok": true})
		return
	}
	rt, ok := routes[path]
	if !ok {
		x.fail(&requestError{status: http.StatusNotFound, field: "path", msg: fmt.Sprintf("no route %q: use /refresh or /hooks/{github,strapi,contentful,sanity,ghost,wordpress}", path)})
		return
	}
	if r.Method != http.MethodPost {
		x.w.Header().Set("Allow", "POST")
		x.fail(&requestError{status: http.StatusMethodNotAllowed, msg: r.Method + " not allowed: use POST"})
		return
	}
	if p, ok := detect(r.Header); ok && rt.name == "generic" {
		rt = routes[p]
	}
	x.route = rt.name
	form := githubForm(rt, r.Header.Get("Content-Type"))
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil && !form {
		x.fail(err)
		return
	}
	body, err := h.readBody(x.w, r)
	if err != nil {
		x.fail(err)
		return
	}
	replayKey := ""
	if !h.o.AuthNone {
		if replayKey, err = h.authenticate(r, rt, body, x); err != nil {
			x.fail(err)
			return
		}
	}
	if form {
		if body, err = formPayload(body); err != nil {
			x.fail(err)
			return
		}
	}
	if h.limiter != nil && !h.limiter.AllowN(h.o.Now(), 1) {
		h.forget(r.Context(), replayKey)
		wait := max(1, int(math.Ceil(1/float64(h.limiter.Limit()))))
		x.w.Header().Set("Retry-After", strconv.Itoa(wait))
		x.fail(&requestError{status: http.StatusTooManyRequests, msg: fmt.Sprintf("more than %g requests a second", h.o.RateLimit)})
		return
	}
	out, err := rt.decode(h.dec, body, meta{header: r.Header, query: r.URL.Query()})
	if err != nil {
		x.fail(err)
		return
	}
	if out.strict && len(out.changes) == 0 && len(out.rejected) > 0 {
		h.refuseAll(x, out.rejected)
		return
	}
	h.runEvent(r.Context(), x, body, out, replayKey)
}

// refuseAll answers a generic request none of whose items is usable: 403
// when every one was refused for its domain, else 400.
func (h *handler) refuseAll(x *exchange, rejected []Rejection) {
	status, msg := http.StatusForbidden, "no item is on an allowed domain"
	for _, r := range rejected {
		if r.Reason != reasonDomain {
			status, msg = http.StatusBadRequest, "no valid item: see rejected"
			break
		}
	}
	x.err = msg
	x.json(status, ErrorBody{Error: msg, Field: rejected[0].Field, Rejected: rejected})
}

// runEvent hands the decoded changes to the runner and answers with its
// report.
func (h *handler) runEvent(ctx context.Context, x *exchange, body []byte, out decoded, replayKey string) {
	// The event id makes a redelivery of this very request a duplicate; it
	// comes from the request's signature, which a sender makes anew for each
	// request (a new timestamp), never from the body: the same body sent
	// again after the next deploy must refresh again. A token-authenticated
	// request has no such id, and no event-level dedupe.
	ev := refresh.Event{Changes: out.changes, Ignored: out.ignored}
	if replayKey != "" {
		sum := sha256.Sum256([]byte(replayKey))
		ev.ID = "webhook:" + hex.EncodeToString(sum[:16])
	}
	now := h.o.Now()
	for i := range ev.Changes {
		ev.Changes[i].EventID = ev.ID
		ev.Changes[i].Time = now
	}
	var rep refresh.Report
	var err error
	if len(ev.Changes) > 0 || len(ev.Ignored) > 0 {
		rep, err = h.run.Run(ctx, ev)
	} else {
		rep.Tasks = []string{}
	}
	a := answer(ev, rep, out.rejected)
	x.answer = &a
	if err != nil {
		h.forget(ctx, replayKey)
		a.Error = "not every outcome could be recorded durably: retry later"
		x.err = err.Error()
		x.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		x.json(http.StatusServiceUnavailable, a)
		return
	}
	x.json(http.StatusAccepted, a)
}

// answer builds the reply from the pipeline's report and the decoder's
// own rejections.
func answer(ev refresh.Event, rep refresh.Report, rejected []Rejection) Answer {
	a := Answer{
		EventID:   ev.ID,
		Changes:   len(ev.Changes),
		Accepted:  rep.Submitted + rep.Spilled + rep.Waiting,
		Submitted: rep.Submitted,
		Duplicate: rep.Duplicate,
		Spilled:   rep.Spilled,
		Waiting:   rep.Waiting,
		Canceled:  rep.Canceled,
		Failed:    rep.Failed,
		Collapsed: rep.Collapsed,
		Rejected:  append([]Rejection{}, rejected...),
		Ignored:   append([]refresh.Ignored{}, rep.IgnoredKeys...),
		Tasks:     append([]string{}, rep.Tasks...),
	}
	seen := map[Rejection]bool{}
	for _, o := range rep.Outcomes {
		if o.Status != refresh.Rejected {
			continue
		}
		r := Rejection{URL: o.Job.URL, Key: o.Job.Key, Reason: o.Reason}
		if !seen[r] {
			seen[r] = true
			a.Rejected = append(a.Rejected, r)
		}
	}
	return a
}

// authenticate checks r by the first of the route's schemes whose header
// it carries, then refuses a replay. It returns the replay key.
func (h *handler) authenticate(r *http.Request, rt route, body []byte, x *exchange) (string, error) {
	var s scheme
	found := false
	for _, c := range rt.schemes {
		if c.present(r) {
			s, found = c, true
			break
		}
	}
	if !found {
		names := make([]string, len(rt.schemes))
		for i, c := range rt.schemes {
			names[i] = c.headerName()
		}
		return "", unauthorized(names[0], "missing signature: send "+strings.Join(names, " or "))
	}
	x.scheme = s.String()
	key, rerr := h.auth.verify(s, r, body)
	if rerr != nil {
		return "", rerr
	}
	if key == "" {
		return "", nil
	}
	seen, err := h.o.Seen.SeenBefore(r.Context(), key, h.o.ReplayTTL)
	if err != nil {
		x.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		return "", &requestError{status: http.StatusServiceUnavailable, msg: "replay check unavailable: retry later"}
	}
	if seen {
		return "", &requestError{status: http.StatusForbidden, field: s.headerName(), msg: "replayed request: this signature was already accepted"}
	}
	return key, nil
}

// forget lets a request that was not carried out be sent again.
func (h *handler) forget(ctx context.Context, key string) {
	if key == "" {
		return
	}
	if err := h.o.Seen.Forget(context.WithoutCancel(ctx), key); err != nil {
		h.o.Logger(ctx).Warn("webhook: forget replay key", "error", err)
	}
}

// checkContentType accepts application/json and application/*+json.
func checkContentType(ct string) error {
	unsupported := &requestError{status: http.StatusUnsupportedMediaType, field: "Content-Type",
		msg: fmt.Sprintf("%q is not JSON: send Content-Type: application/json", ct)}
	if ct == "" {
		unsupported.msg = "missing: send Content-Type: application/json"
		return unsupported
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return unsupported
	}
	if mt == "application/json" || mt == "text/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return unsupported
}

// readBody reads at most MaxBodyBytes.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &requestError{status: http.StatusRequestEntityTooLarge, field: "body",
		msg: fmt.Sprintf("body larger than %d bytes (webhook.max_body_bytes)", h.o.MaxBodyBytes)}
	if r.ContentLength > h.o.MaxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, badRequest("body", "read: %v", err)
	}
	return body, nil
}

// logLine writes the one log line of a request.
func (h *handler) logLine(r *http.Request, x *exchange, start time.Time) {
	attrs := []slog.Attr{
		slog.String("route", x.route),
		slog.String("method", r.Method),
		slog.Int("status", x.status),
		slog.Duration("elapsed", h.o.Now().Sub(start)),
	}
	if x.scheme != "" {
		attrs = append(attrs, slog.String("auth", x.scheme))
	}
	if a := x.answer; a != nil {
		attrs = append(attrs, slog.String("event_id", a.EventID), slog.Int("changes", a.Changes),
			slog.Int("accepted", a.Accepted), slog.Int("submitted", a.Submitted), slog.Int("duplicate", a.Duplicate),
			slog.Int("spilled", a.Spilled), slog.Int("rejected", len(a.Rejected)), slog.Int("ignored", len(a.Ignored)),
			slog.Any("tasks", a.Tasks))
	}
	level := slog.LevelInfo
	switch {
	case x.status >= 500:
		level = slog.LevelError
	case x.status >= 400:
		level = slog.LevelWarn
	}
	if x.err != "" {
		attrs = append(attrs, slog.String("error", x.err))
	}
	ctx := context.WithoutCancel(r.Context())
	h.o.Logger(ctx).LogAttrs(ctx, level, "webhook request", attrs...)
}
