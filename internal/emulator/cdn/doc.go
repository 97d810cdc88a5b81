// Package cdn is a local emulator of the Alibaba Cloud CDN (API version
// 2018-05-10) and DCDN (2018-01-15) RPC OpenAPI, faithful enough on the
// wire that the real alibaba-cloud-sdk-go clients talk to it unchanged.
//
// A Server checks the v1 HMAC-SHA1 request signature exactly as the API
// gateway does, answers the refresh, prefetch, cache-tag, quota and task
// actions with the JSON shapes the v1 SDK decodes, enforces the documented
// per-call limits, daily quotas and the per-domain URLs-per-minute budget
// with the documented error codes and HTTP statuses, keeps task state
// (Refreshing, then Complete after Options.TaskDuration), and injects
// faults (throttling, server errors, delays, forced codes) on request.
// Every accepted call is recorded for tests to inspect.
//
// Serve both API families on one address; clients point their endpoint at
// it (CDNREFRESH_CDN_ENDPOINT=http://127.0.0.1:8765) and sign with
// AccessKeyID and AccessKeySecret.
//
// API references:
//   - CDN:  https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
//   - DCDN: https://www.alibabacloud.com/help/en/dcdn/developer-reference/api-dcdn-2018-01-15-refreshdcdnobjectcaches
//   - Signature v1: https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
//
// What is an assumption rather than documented behaviour: the status and
// code for more than ten domains in one call (SingleRequest.OverLimit), for
// a bad WithHeader, Area, PageSize or TaskId list, and for
// DescribePreloadDetailById outside the allow-list (403 Forbidden); the
// daily quota reset at 00:00 UTC+8; tasks listed newest first.
package cdn
