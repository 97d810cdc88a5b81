// Package alicdn is the Alibaba Cloud CDN (API 2018-05-10) and DCDN
// (2018-01-15) client of cdnrefresh, on alibaba-cloud-sdk-go's typed
// requests and responses sent through the SDK's core client, with
// CommonRequest where the SDK lacks an API (RefreshObjectCacheByCacheTag)
// and raw query parameters where it lacks a field (Force on
// RefreshObjectCaches, QueryHashkey on PushObjectCache).
//
// Client.Submit implements refresh.Submitter: it sends a planned call to
// the API refresh.APIFor names — RefreshObjectCaches, PushObjectCache,
// RefreshObjectCacheByCacheTag, RefreshDcdnObjectCaches,
// PreloadDcdnObjectCaches, RefreshDcdnObjectCacheByCacheTag or
// RefreshErObjectCaches — always with an explicit ObjectType, trying the
// other spelling of IgnoreParams (ExQuery) once when CDN refuses one and
// remembering the one that works. It waits on the optional
// refresh.Limiter, and retries retryable errors with exponential backoff
// and full jitter within the context's deadline. Quota, Tasks, TasksByID
// and PreloadDetail read what the report function needs. Every method
// waits on the limiter and retries the same way.
//
// Errors are classified by one table of the documented codes, Codes,
// each with its HTTP status and source: every failure is a
// *refresh.Failure carrying the verdict, with an *APIError or a
// *TransportError inside. Neither ever carries the signed request URL, the
// access key secret or an STS token.
//
// Credentials come per call from the context (refresh.WithCredentials, set
// from FC's x-fc-* headers) or else from Config.Credentials. An SDK client
// is not safe for concurrent use, so every attempt builds its own.
//
// API references:
//   - CDN:  https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
//   - DCDN: https://www.alibabacloud.com/help/en/dcdn/developer-reference/api-dcdn-2018-01-15-refreshdcdnobjectcaches
//   - SDK:  https://github.com/aliyun/alibaba-cloud-sdk-go
package alicdn
