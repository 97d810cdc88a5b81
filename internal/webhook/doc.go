// Package webhook is the HTTP side of cdnrefresh: an http.Handler that
// accepts authenticated publish hooks from CI jobs, content management
// systems and Git hosting, turns them into a refresh.Event, and hands that
// to the same pipeline (window, plan, submit, spill) as OSS events. New
// builds it; functions/webhook serves it behind the FC HTTP trigger and a
// Lambda Function URL.
//
// # Routes
//
//	POST /refresh            the generic JSON API (below); a native payload
//	                         posted here is recognised by its header
//	                         (X-GitHub-Event, X-Contentful-Topic,
//	                         Sanity-Webhook-Signature, X-Ghost-Signature,
//	                         X-Strapi-Event)
//	POST /hooks/github       GitHub push events
//	POST /hooks/strapi       Strapi entry.* and media.* events
//	POST /hooks/contentful   Contentful Entry and Asset topics
//	POST /hooks/sanity       Sanity GROQ-powered document webhooks
//	POST /hooks/ghost        Ghost post.* and page.* webhooks
//	POST /hooks/wordpress    WordPress publish hooks (WP Webhooks and the like)
//	GET  /healthz            200 {"ok":true}
//
// The generic API takes one JSON object:
//
//	{"urls":  ["https://www.example.com/a.html", ...]}
//	{"paths": ["/a.html", ...], "domain": "www.example.com"}   (domain defaults to Options.Domain)
//	{"bucket": "my-site", "keys": ["static/a.css", ...], "op": "create"}
//	{"tags":  ["product-42", ...], "domain": "www.example.com"}   (cache tags; domain as for paths)
//
// (the four lists may be combined) plus the optional "action" (refresh,
// prefetch or both; default: what the rules say; tags are only ever
// refreshed), "type" (file, directory, regex or ignore_params), "force" (a
// boolean), "op" (create or delete, for keys), "edge_routine"
// ({"id":"Name.Subdomain","merge_domains":[...]}: the URLs also go to that
// Edge Routine's cache, on DCDN domains) and "query_hashkey" (a boolean:
// prefetches in hash key query mode, on CDN domains). Unknown fields are refused, so that a typo is not silently
// ignored. The hook routes take the same action, type and force as query
// parameters: /hooks/strapi?action=both.
//
// Every URL, whether given, made of a path and a domain, of a pushed file or
// of a template, is checked as refresh.Canonical checks it (a URL it
// refuses is rejected with its reason) and refreshed in its one spelling:
// HTTPS://WWW.Example.com:443/a/./b%7e.html is
// https://www.example.com/a/b~.html, as the same object reached through
// OSS is. A regex keeps its pattern.
//
// # Replies
//
// A request that was understood is answered 202 with an Answer: the
// counts of the pipeline's report (accepted = submitted + spilled), the
// task ids, what was ignored (a tag push, a draft, an entry with no URL
// template) and what was rejected, each with its reason. A batch with some
// invalid items keeps the valid ones; only when every item of a generic
// request is rejected is the answer an error: 403 when each was refused for
// its domain, else 400. Errors are JSON {"error":"...","field":"..."},
// field naming the request field (or header) at fault when there is one:
//
//	400  malformed JSON, a field of the wrong type or value, nothing to do
//	401  missing, malformed or wrong signature or token; timestamp outside ±5 minutes
//	403  replay: this signature (or GitHub delivery id) was already accepted
//	404  no such route
//	405  wrong method (Allow says which)
//	413  body over MaxBodyBytes, or more items than MaxURLs
//	415  Content-Type is not JSON (application/json or application/*+json)
//	429  over RateLimit (Retry-After)
//	503  the pipeline could not make every outcome durable, or the replay
//	     store is unreachable: retry after Retry-After; the body is the
//	     Answer so far
//
// Bad input never yields a 500; a panic is recovered, logged and answered
// 500.
//
// # Authentication
//
// On by default: New refuses to build a handler without a secret unless
// Options.AuthNone says so. One secret serves every scheme. Each route
// accepts the generic scheme and its product's own:
//
//   - generic (every route): X-Cdnrefresh-Timestamp (unix seconds) and
//     X-Cdnrefresh-Signature: sha256=<hex of HMAC-SHA256(secret,
//     timestamp + "." + raw body)>.
//   - GitHub: X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(secret,
//     body)>; the replay key is X-GitHub-Delivery.
//   - Sanity: Sanity-Webhook-Signature: t=<unix ms>,v1=<base64url of
//     HMAC-SHA256(secret, t + "." + body)>, as @sanity/webhook signs.
//   - Ghost: X-Ghost-Signature: sha256=<hex of HMAC-SHA256(secret,
//     body + t)>, t=<unix ms>.
//   - Contentful: request verification (X-Contentful-Signature over the
//     canonical request: method, path, the signed headers, body; with
//     X-Contentful-Timestamp signed), or a static token.
//   - Strapi, Contentful, WordPress: a static token, Authorization: Bearer
//     <secret> or X-Cdnrefresh-Token: <secret>, set as a custom header in
//     the CMS. A token cannot prevent replays; prefer a signing scheme where
//     the product has one.
//
// Signed timestamps must be within ±5 minutes of the clock; a signature
// accepted once is refused (403) for ReplayTTL afterwards, unless the
// request was answered 429 or 503, so that the sender's retry is
// accepted. GitHub signs no timestamp: its deliveries are remembered by
// X-GitHub-Delivery for ReplayTTL only. All comparisons are constant-time.
//
// # URL templates
//
// A CMS entry becomes URLs through the Template of its content type (the
// Strapi model or uid, the Contentful content type id, the Sanity _type,
// post or page for Ghost, the WordPress post_type; "*" matches any type).
// A template URL is a path put on the template's or the default domain,
// "/blog/{slug}/", or a full URL; several may be given, such as the
// listing pages an entry appears on. Placeholders: {slug}, {locale},
// {id} and {type}; their values are percent-encoded, and a slug keeps its
// slashes. "/{locale}/blog/{slug}/" with DefaultLocale "en" and
// HideDefaultLocale gives /blog/a/ for an English entry and /fr/blog/a/ for
// a French one. An entry lacking a value a template needs is rejected with
// the placeholder's name; an entry whose type has no template uses the URL
// its payload carries (Ghost's url, WordPress's permalink, Strapi media
// URLs) or is ignored.
//
// References:
//   - GitHub webhook events and signatures: https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
//   - Strapi webhooks: https://docs.strapi.io/cms/backend-customization/webhooks
//   - Contentful webhooks: https://www.contentful.com/developers/docs/webhooks/
//   - Sanity GROQ-powered webhooks: https://www.sanity.io/docs/webhooks
//   - Ghost webhooks: https://ghost.org/docs/webhooks/
package webhook
