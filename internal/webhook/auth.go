package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of the generic signing scheme (README, webhook section).
const (
	HeaderTimestamp = "X-Cdnrefresh-Timestamp"
	HeaderSignature = "X-Cdnrefresh-Signature"
	// HeaderToken carries the secret itself, for CMSs that can only send a
	// static header (Authorization: Bearer <secret> works too).
	HeaderToken = "X-Cdnrefresh-Token"
)

// MaxSkew is how far a signed timestamp may be from the clock.
const MaxSkew = 5 * time.Minute

// ReplayCache remembers the signatures of accepted requests, so that a
// captured request cannot be sent again. The default keeps them in
// memory; a Redis-backed one shares them between instances.
type ReplayCache interface {
	// SeenBefore records key for ttl and reports whether it was already
	// recorded and not expired. It must be atomic: of two concurrent calls
	// with one key, exactly one reports false.
	SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Forget removes key, so that a request whose processing failed may
	// be retried with the same signature.
	Forget(ctx context.Context, key string) error
}

// scheme is one way a request proves it knows the secret.
type scheme int

const (
	schemeGeneric scheme = iota
	schemeGitHub
	schemeSanity
	schemeGhost
	schemeContentful
	schemeToken
)

func (s scheme) String() string {
	return [...]string{"hmac", "github", "sanity", "ghost", "contentful", "token"}[s]
}

// present reports whether r carries the header of scheme s.
func (s scheme) present(r *http.Request) bool {
	h := r.Header
	switch s {
	case schemeGeneric:
		return h.Get(HeaderSignature) != "" || h.Get(HeaderTimestamp) != ""
	case schemeGitHub:
		return h.Get("X-Hub-Signature-256") != ""
	case schemeSanity:
		return h.Get("Sanity-Webhook-Signature") != ""
	case schemeGhost:
		return h.Get("X-Ghost-Signature") != ""
	case schemeContentful:
		return h.Get("X-Contentful-Signature") != ""
	case schemeToken:
		return h.Get(HeaderToken) != "" || strings.HasPrefix(h.Get("Authorization"), "Bearer ")
	}
	return false
}

// headerName names the header of scheme s in error messages.
func (s scheme) headerName() string {
	return [...]string{HeaderSignature, "X-Hub-Signature-256", "Sanity-Webhook-Signature", "X-Ghost-Signature",
		"X-Contentful-Signature", "Authorization"}[s]
}

// authenticator checks requests against one secret.
type authenticator struct {
	secret []byte
	now    func() time.Time
}

func unauthorized(field, msg string) *requestError {
	return &requestError{status: http.StatusUnauthorized, field: field, msg: msg}
}

// verify checks r and body by scheme s. It returns the key under which the
// request is remembered against replays ("" for a token, which has none).
func (a *authenticator) verify(s scheme, r *http.Request, body []byte) (string, *requestError) {
	switch s {
	case schemeGeneric:
		return a.generic(r, body)
	case schemeGitHub:
		return a.gitHub(r, body)
	case schemeSanity:
		return a.sanity(r, body)
	case schemeGhost:
		return a.ghost(r, body)
	case schemeContentful:
		return a.contentful(r, body)
	}
	return "", a.token(r)
}

func (a *authenticator) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, a.secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// generic checks X-Cdnrefresh-Signature: sha256=hex(HMAC(secret, ts "." body)).
func (a *authenticator) generic(r *http.Request, body []byte) (string, *requestError) {
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if ts == "" {
		return "", unauthorized(HeaderTimestamp, "missing header")
	}
	if sig == "" {
		return "", unauthorized(HeaderSignature, "missing header")
	}
	got, ok := hexMAC(sig)
	if !ok {
		return "", unauthorized(HeaderSignature, "malformed: want sha256=<64 hex digits>")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", unauthorized(HeaderTimestamp, "malformed: want unix seconds")
	}
	if !hmac.Equal(got, a.mac([]byte(ts), []byte("."), body)) {
		return "", unauthorized(HeaderSignature, "signature does not match")
	}
	if err := a.fresh(HeaderTimestamp, time.Unix(secs, 0)); err != nil {
		return "", err
	}
	return "hmac:" + hex.EncodeToString(got), nil
}

// gitHub checks X-Hub-Signature-256: sha256=hex(HMAC(secret, body)).
func (a *authenticator) gitHub(r *http.Request, body []byte) (string, *requestError) {
	got, ok := hexMAC(r.Header.Get("X-Hub-Signature-256"))
	if !ok {
		return "", unauthorized("X-Hub-Signature-256", "malformed: want sha256=<64 hex digits>")
	}
	if !hmac.Equal(got, a.mac(body)) {
		return "", unauthorized("X-Hub-Signature-256", "signature does not match")
	}
	// The replay key is the signature, which the HMAC covers: a delivery id
	// header is not signed, so a resent capture could change it at will.
	// (A push payload is unique: it names the commits pushed.)
	return "github:" + hex.EncodeToString(got), nil
}

var sanityHeader = regexp.MustCompile(`^t=(\d+)[, ]+v1=([^, ]+)$`)

// sanity checks Sanity-Webhook-Signature: t=<ms>,v1=base64url(HMAC(secret, t "." body)).
func (a *authenticator) sanity(r *http.Request, body []byte) (string, *requestError) {
	const h = "Sanity-Webhook-Signature"
	m := sanityHeader.FindStringSubmatch(strings.TrimSpace(r.Header.Get(h)))
	if m == nil {
		return "", unauthorized(h, "malformed: want t=<timestamp>,v1=<signature>")
	}
	got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(m[2], "="))
	if err != nil {
		got, err = base64.StdEncoding.DecodeString(m[2])
	}
	if err != nil || len(got) != sha256.Size {
		return "", unauthorized(h, "malformed signature: want base64 of 32 bytes")
	}
	if !hmac.Equal(got, a.mac([]byte(m[1]), []byte("."), body)) {
		return "", unauthorized(h, "signature does not match")
	}
	if err := a.freshMillis(h, m[1]); err != nil {
		return "", err
	}
	return "sanity:" + hex.EncodeToString(got), nil
}

// ghost checks X-Ghost-Signature: sha256=hex(HMAC(secret, body t)), t=<ms>.
func (a *authenticator) ghost(r *http.Request, body []byte) (string, *requestError) {
	const h = "X-Ghost-Signature"
	var sig, ts string
	for _, part := range strings.Split(r.Header.Get(h), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "sha256":
			sig = "sha256=" + v
		case "t":
			ts = v
		}
	}
	got, ok := hexMAC(sig)
	if !ok || ts == "" {
		return "", unauthorized(h, "malformed: want sha256=<hex>, t=<timestamp>")
	}
	if !hmac.Equal(got, a.mac(body, []byte(ts))) {
		return "", unauthorized(h, "signature does not match")
	}
	if err := a.freshMillis(h, ts); err != nil {
		return "", err
	}
	return "ghost:" + hex.EncodeToString(got), nil
}

// contentful checks Contentful's request verification: X-Contentful-
// Signature is hex(HMAC(secret, method "\n" path "\n" signed headers "\n"
// body)), the signed headers (X-Contentful-Signed-Headers, in that order)
// written name:value and joined with ";". The timestamp must be signed.
func (a *authenticator) contentful(r *http.Request, body []byte) (string, *requestError) {
	const h = "X-Contentful-Signature"
	got, err := hex.DecodeString(strings.TrimSpace(r.Header.Get(h)))
	if err != nil || len(got) != sha256.Size {
		return "", unauthorized(h, "malformed: want 64 hex digits")
	}
	var names []string
	signedTS := false
	for _, n := range strings.Split(r.Header.Get("X-Contentful-Signed-Headers"), ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		names = append(names, n)
		signedTS = signedTS || n == "x-contentful-timestamp"
	}
	if !signedTS {
		return "", unauthorized("X-Contentful-Signed-Headers", "must include x-contentful-timestamp")
	}
	hs := make([]string, len(names))
	for i, n := range names {
		hs[i] = n + ":" + r.Header.Get(n)
	}
	canon := func(path string) []byte {
		return a.mac([]byte(r.Method+"\n"+path+"\n"+strings.Join(hs, ";")+"\n"), body)
	}
	if !hmac.Equal(got, canon(r.URL.EscapedPath())) && !hmac.Equal(got, canon(r.URL.RequestURI())) {
		return "", unauthorized(h, "signature does not match")
	}
	if err := a.freshMillis("X-Contentful-Timestamp", r.Header.Get("X-Contentful-Timestamp")); err != nil {
		return "", err
	}
	return "contentful:" + hex.EncodeToString(got), nil
}

// token checks a static secret in X-Cdnrefresh-Token or Authorization:
// Bearer. Both sides are hashed first, so that the comparison takes the
// same time whatever the lengths.
func (a *authenticator) token(r *http.Request) *requestError {
	field, tok := HeaderToken, r.Header.Get(HeaderToken)
	if tok == "" {
		field, tok = "Authorization", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	got, want := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256(a.secret)
	if !hmac.Equal(got[:], want[:]) {
		return unauthorized(field, "token does not match")
	}
	return nil
}

// hexMAC decodes "sha256=<hex>" into the 32 bytes of a SHA-256 MAC.
func hexMAC(s string) ([]byte, bool) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "sha256=")
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(h)
	return b, err == nil && len(b) == sha256.Size
}

// fresh refuses a timestamp more than MaxSkew from the clock.
func (a *authenticator) fresh(field string, t time.Time) *requestError {
	if d := a.now().Sub(t); d > MaxSkew || d < -MaxSkew {
		return unauthorized(field, "timestamp is more than 5 minutes from the server's clock")
	}
	return nil
}

// freshMillis is fresh for a decimal timestamp in Unix milliseconds (or
// seconds, for values too small to be milliseconds of this century).
func (a *authenticator) freshMillis(field, ts string) *requestError {
	n, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil || n < 0 {
		return unauthorized(field, "malformed timestamp: want unix milliseconds")
	}
	if n < 1e11 {
		return a.fresh(field, time.Unix(n, 0))
	}
	return a.fresh(field, time.UnixMilli(n))
}

// memoryReplay is the default ReplayCache: a bounded in-memory set whose
// entries expire. When full, the oldest entries go first.
type memoryReplay struct {
	mu    sync.Mutex
	now   func() time.Time
	limit int
	until map[string]time.Time
	order []replayEntry // insertion order, for eviction
}

type replayEntry struct {
	key   string
	until time.Time
}

func newMemoryReplay(limit int, now func() time.Time) *memoryReplay {
	return &memoryReplay{now: now, limit: limit, until: make(map[string]time.Time)}
}

// SeenBefore implements ReplayCache.
func (c *memoryReplay) SeenBefore(_ context.Context, key string, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if u, ok := c.until[key]; ok && now.Before(u) {
		return true, nil
	}
	for len(c.order) > 0 && (len(c.until) >= c.limit || !now.Before(c.order[0].until)) {
		e := c.order[0]
		c.order = c.order[1:]
		if c.until[e.key].Equal(e.until) {
			delete(c.until, e.key)
		}
	}
	u := now.Add(ttl)
	c.until[key] = u
	c.order = append(c.order, replayEntry{key, u})
	return false, nil
}

// Forget implements ReplayCache.
func (c *memoryReplay) Forget(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, key)
	return nil
}
