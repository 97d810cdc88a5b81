package alicdn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Production endpoints: central, one for every region (alibaba-cloud-sdk-go
// sdk/endpoints/endpoints_config.go gives cdn.aliyuncs.com as the CDN
// global endpoint; services/dcdn/endpoint.go maps DCDN's regions to
// dcdn.aliyuncs.com).
const (
	CDNHost  = "cdn.aliyuncs.com"
	DCDNHost = "dcdn.aliyuncs.com"
)

// Defaults.
const (
	DefaultRegion  = "cn-hangzhou"
	DefaultTimeout = 10 * time.Second // the SDK's own read timeout
)

// RetryPolicy is exponential backoff with full jitter: before retry n
// (n = 1, 2, …) the client sleeps a random duration in
// [0, min(Cap, Base·2^(n-1))). Zero fields take the defaults.
type RetryPolicy struct {
	Base        time.Duration // default 200 ms
	Cap         time.Duration // default 5 s
	MaxAttempts int           // attempts in all, including the first; default 4; 1 = no retry
}

// DefaultRetry is the policy used for zero fields.
var DefaultRetry = RetryPolicy{Base: 200 * time.Millisecond, Cap: 5 * time.Second, MaxAttempts: 4}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Base <= 0 {
		p.Base = DefaultRetry.Base
	}
	if p.Cap <= 0 {
		p.Cap = DefaultRetry.Cap
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	return p
}

// ceiling returns the upper bound of the sleep before retry n (n ≥ 1).
func (p RetryPolicy) ceiling(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// Config configures a Client.
type Config struct {
	// Endpoint overrides both the CDN and the DCDN endpoint
	// (CDNREFRESH_CDN_ENDPOINT). Empty means production: HTTPS to
	// cdn.aliyuncs.com and dcdn.aliyuncs.com. "http://HOST:PORT" or
	// "https://HOST[:PORT]" name the scheme; a bare "HOST:PORT" means
	// plain HTTP for a loopback host (127.0.0.0/8, ::1, localhost) and
	// HTTPS for any other.
	Endpoint string
	// Region is the RegionId every request carries; default cn-hangzhou.
	Region string
	// Credentials are used when the context carries none
	// (refresh.WithCredentials); the caller fills them from
	// ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET and _SECURITY_TOKEN.
	Credentials refresh.Credentials
	// Timeout bounds each HTTP attempt; default 10 s.
	Timeout time.Duration
	// Retry is the backoff for retryable errors.
	Retry RetryPolicy
	// Limiter, when set, is waited on before every attempt of every call.
	Limiter refresh.Limiter
	// Sleep waits d or until ctx is done; default a timer. Tests inject one
	// that records and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter; default math/rand/v2.
	Rand func() float64
	// Now is the clock used to see whether a backoff would pass ctx's
	// deadline; default time.Now.
	Now func() time.Time
	// Transport, when set, carries every request (tests, proxies). Default
	// a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// QuotaZone is where midnight resets the daily quotas, so that a quota
	// read before it is not trusted after it; default Asia/Shanghai
	// (UTC+8).
	QuotaZone *time.Location
}

// Client calls the CDN and DCDN APIs through alibaba-cloud-sdk-go. It is
// safe for concurrent use: each call builds its own SDK client, because an
// SDK client mutates its HTTP client on every request (alibaba-cloud-sdk-go
// sdk/client.go: DoActionWithSigner sets the client's timeout and the
// transport's TLS config); the connections are shared through one transport.
type Client struct {
	scheme    string // "HTTPS" or "HTTP"
	cdnHost   string
	dcdnHost  string
	region    string
	creds     refresh.Credentials
	timeout   time.Duration
	retry     RetryPolicy
	limiter   refresh.Limiter
	sleep     func(context.Context, time.Duration) error
	rand      func() float64
	now       func() time.Time
	transport http.RoundTripper
	quotas    *quotaCache
	spelling  spellings
}

var regionPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	c := &Client{
		scheme:    "HTTPS",
		cdnHost:   CDNHost,
		dcdnHost:  DCDNHost,
		region:    cfg.Region,
		creds:     cfg.Credentials,
		timeout:   cfg.Timeout,
		retry:     cfg.Retry.withDefaults(),
		limiter:   cfg.Limiter,
		sleep:     cfg.Sleep,
		rand:      cfg.Rand,
		now:       cfg.Now,
		transport: cfg.Transport,
	}
	if cfg.Endpoint != "" {
		scheme, host, err := parseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		c.scheme, c.cdnHost, c.dcdnHost = scheme, host, host
	}
	if c.region == "" {
		c.region = DefaultRegion
	}
	if !regionPattern.MatchString(c.region) {
		return nil, fmt.Errorf("alicdn: region %q has characters other than letters, digits, _ and -", c.region)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.transport == nil {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	zone := cfg.QuotaZone
	if zone == nil {
		zone = time.FixedZone("UTC+8", 8*60*60)
	}
	c.quotas = &quotaCache{read: c.Quota, now: c.now, zone: zone}
	return c, nil
}

// parseEndpoint returns the SDK scheme and the host[:port] of endpoint.
func parseEndpoint(endpoint string) (scheme, host string, err error) {
	raw := strings.TrimSpace(endpoint)
	if !strings.Contains(raw, "://") {
		h := raw
		if hn, _, err := net.SplitHostPort(raw); err == nil {
			h = hn
		}
		if h == "" || strings.ContainsAny(raw, "/?#@ ") {
			return "", "", fmt.Errorf("alicdn: endpoint %q: want HOST[:PORT] or http(s)://HOST[:PORT]", endpoint)
		}
		if isLoopback(h) {
			return "HTTP", raw, nil
		}
		return "HTTPS", raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("alicdn: endpoint %q: %w", endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("alicdn: endpoint %q: scheme must be http or https", endpoint)
	case u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("alicdn: endpoint %q: want only a scheme, a host and a port", endpoint)
	}
	return strings.ToUpper(u.Scheme), u.Host, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// ErrNoCredentials means neither the context nor the Config carries an
// access key. The client returns it inside a *refresh.Failure (Keep,
// code NoCredentials): the work waits until credentials are given.
var ErrNoCredentials = errors.New("alicdn: " + noCredentials)

const noCredentials = "no credentials: give the function a role (s.yaml role), or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET"

// credentials returns the invocation's credentials, else the configured ones.
func (c *Client) credentials(ctx context.Context) (refresh.Credentials, error) {
	if cr, ok := refresh.CredentialsFrom(ctx); ok {
		return cr, nil
	}
	if c.creds.Empty() {
		return refresh.Credentials{}, &refresh.Failure{Verdict: refresh.Keep, Code: "NoCredentials", Detail: noCredentials, Err: ErrNoCredentials}
	}
	return c.creds, nil
}

// ctxTransport gives every request the context of the call: the SDK builds
// requests without one. It is also not an *http.Transport, so the SDK
// leaves the shared transport alone instead of rewriting its dialer and
// TLS settings on every call.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// sdkEnv is what one attempt needs to build an SDK client.
type sdkEnv struct {
	config     *sdk.Config
	credential auth.Credential
	region     string
	cdnHost    string
	dcdnHost   string
}

// cdn and dcdn return a client of the SDK's core for one attempt, aimed at
// the CDN or the DCDN host. The typed requests and responses of
// services/cdn and services/dcdn go through it with doAction.
func (e sdkEnv) cdn() (*sdk.Client, error) { return e.client(e.cdnHost) }

func (e sdkEnv) dcdn() (*sdk.Client, error) { return e.client(e.dcdnHost) }

func (e sdkEnv) client(host string) (*sdk.Client, error) {
	cl, err := sdk.NewClientWithOptions(e.region, e.config, e.credential)
	if err != nil {
		return nil, err
	}
	cl.Domain = host // an explicit domain: the SDK's endpoint maps are never read
	return cl, nil
}

// doAction is what each typed method of the SDK's cdn.Client and
// dcdn.Client does (alibaba-cloud-sdk-go services/cdn: every method is
// "response = CreateXResponse(); err = client.DoAction(request, response)"),
// done on the core client instead. Those two typed clients carry about
// 3,500 methods, and a binary that names them and also looks methods up by
// reflection (go-cmp in every test binary; aws-lambda-go's RPC mode in any
// binary built without lambda.norpc) must keep them all: each test binary
// that links this package was 24 MB larger, and slower to link.
func doAction[R responses.AcsResponse](cl *sdk.Client, req requests.AcsRequest, resp R) (R, error) {
	err := cl.DoAction(req, resp)
	return resp, err
}

// do runs attempt under the limiter, the per-attempt timeout and the retry
// policy, and classifies its error.
func (c *Client) do(ctx context.Context, api string, urlsPerDomain map[string]int, attempt func(sdkEnv) error) error {
	cr, err := c.credentials(ctx)
	if err != nil {
		return err
	}
	r := redactor(cr)
	var cred auth.Credential = credentials.NewAccessKeyCredential(cr.AccessKeyID, cr.AccessKeySecret)
	if cr.SecurityToken != "" {
		cred = credentials.NewStsTokenCredential(cr.AccessKeyID, cr.AccessKeySecret, cr.SecurityToken)
	}

	var last error
	for n := 1; ; n++ {
		settle, err := c.reserve(ctx, api, urlsPerDomain)
		if err != nil {
			if last != nil {
				return withAttempts(last, n-1)
			}
			return fmt.Errorf("alicdn: %s: wait for rate limit: %w", api, err)
		}
		err = c.once(ctx, cred, attempt)
		settle(settlement(err))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// Sent, and cut off before an answer: the API may have done it.
			return &refresh.Failure{Verdict: refresh.InDoubt, Code: refresh.ReasonInDoubt,
				Err: fmt.Errorf("alicdn: %s: no answer before the call was cut off: %w", api, context.Cause(ctx))}
		}
		last = classify(api, err, r)
		v, _ := refresh.FailureOf(last)
		// An undocumented 4xx code is rejected, but only after one retry
		// (see Codes).
		if retry := v == refresh.Retry || n == 1 && undocumented4xx(last); !retry || n >= c.retry.MaxAttempts {
			return final(last, n)
		}
		d := time.Duration(c.rand() * float64(c.retry.ceiling(n)))
		if dl, ok := ctx.Deadline(); ok && !c.now().Add(d).Before(dl) {
			return final(last, n) // sleeping would pass the deadline
		}
		if err := c.sleep(ctx, d); err != nil {
			return final(last, n)
		}
	}
}

// Spent returns how many URLs of domain's minute budget calls of api have
// used over the last minute, as the limiter knows (0 when it keeps no such
// count).
func (c *Client) Spent(api, domain string) int {
	if l, ok := c.limiter.(interface{ Spent(api, domain string) int }); ok {
		return l.Spent(api, domain)
	}
	return 0
}

// reserve waits on the limiter for one attempt and returns what tells
// the limiter how the attempt ended (see refresh.CountingLimiter).
func (c *Client) reserve(ctx context.Context, api string, urlsPerDomain map[string]int) (func(refresh.Settlement), error) {
	switch l := c.limiter.(type) {
	case nil:
		return func(refresh.Settlement) {}, nil
	case refresh.CountingLimiter:
		return l.Reserve(ctx, api, urlsPerDomain)
	}
	return func(refresh.Settlement) {}, c.limiter.Wait(ctx, api, urlsPerDomain)
}

// settlement says how an attempt that ended with err counts against the
// per-domain minute budget: a refusal by the API counts none of its URLs,
// a refusal for that very budget says the domain's minute is spent, and
// without an answer (a timeout, a lost connection) the call may have
// counted.
func settlement(err error) refresh.Settlement {
	var se *sdkerrors.ServerError
	switch {
	case !errors.As(err, &se):
		return refresh.Counted
	case se.ErrorCode() == codeMinuteSpent:
		return refresh.BudgetSpent
	}
	return refresh.Refused
}

// final is the error of a call whose last attempt failed with last: in
// doubt when that attempt timed out waiting for the answer (the API may
// have carried it out), else last, with the number of attempts.
func final(last error, n int) error {
	var te *TransportError
	if errors.As(last, &te) && te.Code == "Timeout" {
		last = &refresh.Failure{Verdict: refresh.InDoubt, Code: refresh.ReasonInDoubt, Err: last}
	}
	return withAttempts(last, n)
}

func withAttempts(err error, n int) error {
	if n <= 1 {
		return err
	}
	return fmt.Errorf("%w (after %d attempts)", err, n)
}

// once makes one attempt with a fresh SDK client.
func (c *Client) once(ctx context.Context, cred auth.Credential, attempt func(sdkEnv) error) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cfg := sdk.NewConfig()
	cfg.Scheme = c.scheme
	cfg.Timeout = c.timeout
	cfg.Transport = ctxTransport{ctx: actx, base: c.transport}
	return attempt(sdkEnv{config: cfg, credential: cred, region: c.region, cdnHost: c.cdnHost, dcdnHost: c.dcdnHost})
}

// Check reads the account's CDN quota once, to prove the credentials, the
// endpoint and the role's permission before the first refresh needs them.
// The error says what to set.
func (c *Client) Check(ctx context.Context) error {
	if _, err := c.Quota(ctx, refresh.CDN); err != nil {
		return fmt.Errorf("the CDN API at %s://%s did not answer %s: %w (check CDNREFRESH_CDN_ENDPOINT, the network, and that the function's role allows cdn:%s)",
			strings.ToLower(c.scheme), c.cdnHost, refresh.APIQuota, err, refresh.APIQuota)
	}
	return nil
}
