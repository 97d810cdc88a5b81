// Package cdn is a local emulator of the Alibaba Cloud CDN (API version
// 2018-05-10) and DCDN (2018-01-15) RPC OpenAPI, faithful enough on the
// wire that the real alibaba-cloud-sdk-go clients talk to it unchanged.
//
// A Server checks the v1 HMAC-SHA1 request signature as the API gateway
// does and answers the refresh, prefetch, cache-tag, quota and task
// actions with the JSON shapes the v1 SDK decodes. It is strict by
// default: it enforces what the API documents state — per-call limits,
// calls per second per account and action, daily quotas, the per-domain
// URLs-per-minute budget on every URL refresh, the prefetch queue — with
// their documented error codes and HTTP statuses, word for word.
// Documented lists each statement it relies on with its source, and a
// test checks the emulator against every one through the real SDK.
//
// Tasks move Pending, Refreshing, then Complete or Failed over
// Options.TaskDuration by the emulator's clock (Options.Now, so that tests
// on a fake clock stay deterministic); Tasks reports when each was created
// and done. With Options.EventTarget the emulator posts
// CachedObjectsRefreshed and CachedObjectsPushed events to a function as
// Function Compute's CDN event trigger would (see CDNEvents).
//
// Faults are injected by Options.Faults, by Inject, or over HTTP on the
// emulator's own address: GET /_emulator/stats, GET and POST
// /_emulator/faults, POST /_emulator/reset (see control.go). Every
// accepted call is recorded for tests to inspect (Calls).
//
// Serve both API families on one address; clients point their endpoint at
// it (CDNREFRESH_CDN_ENDPOINT=http://127.0.0.1:8765) and sign with
// AccessKeyID and AccessKeySecret. `cdnrefresh emulator` serves it with
// every option as a flag.
//
// API references:
//   - CDN:  https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
//   - DCDN: https://www.alibabacloud.com/help/en/dcdn/developer-reference/api-dcdn-2018-01-15-refreshdcdnobjectcaches
//   - Signature v1: https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
//   - CDN event triggers: https://www.alibabacloud.com/help/en/functioncompute/fc/formats-of-event-for-different-triggers-1
//
// Where the documents are silent the emulator chooses, and says so:
// Documented marks those statements Assumed (the code for more than ten
// domains in one call, the cache-tag limit and quota, …). Other choices:
// the status and code for a bad WithHeader, Area, PageSize or TaskId list;
// DescribePreloadDetailById outside the allow-list answers 403 Forbidden;
// the daily quota resets at 00:00 UTC+8; tasks are listed newest first; a
// task is Pending for the first fifth of its duration; no CDN event is
// posted for a Failed task, a DCDN one, or a regex, IgnoreParams or
// cache-tag refresh (the event page documents objectType File and
// Directory only); a domain's refresh queue
// (TooMany.Refresh) has no documented size and is off unless
// Options.DomainRefreshQueue sets one.
package cdn
