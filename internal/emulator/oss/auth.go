package oss

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// signedSubresources are the query parameters OSS includes in the
// CanonicalizedResource of a version 1 signature. Other parameters
// (prefix, max-keys, list-type, encoding-type, …) are not signed.
// https://www.alibabacloud.com/help/en/oss/developer-reference/include-signatures-in-the-authorization-header
var signedSubresources = setOf(
	"acl", "append", "asyncFetch", "bucketInfo", "callback", "callback-var",
	"cname", "comp", "continuation-token", "cors", "delete", "encryption",
	"endTime", "img", "inventory", "inventoryId", "lifecycle", "live",
	"location", "logging", "metaQuery", "objectMeta", "partNumber", "policy",
	"position", "qos", "qosInfo", "referer", "replication",
	"replicationLocation", "replicationProgress", "requestPayment",
	"resourceGroup", "response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language",
	"response-content-type", "response-expires", "restore", "security-token",
	"sequential", "startTime", "stat", "status", "style", "styleName",
	"symlink", "tagging", "transferAcceleration", "udf", "uploadId", "uploads",
	"versionId", "versioning", "versions", "vod", "website", "worm", "wormExtend",
	"wormId", "x-oss-process", "x-oss-request-payer", "x-oss-traffic-limit",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// verify checks the request's version 1 signature:
//
//	Authorization: OSS <AccessKeyId>:base64(HMAC-SHA1(secret, StringToSign))
//	StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//	               CanonicalizedOSSHeaders CanonicalizedResource
//
// with CanonicalizedOSSHeaders the x-oss-* headers, lower case, sorted, one
// "name:value\n" each (an STS token travels as x-oss-security-token and is
// signed like any of them), and CanonicalizedResource "/bucket/key" (the
// decoded key) plus the signed sub-resources, sorted, as "?a&b=v".
func (s *Server) verify(r *http.Request, bucket, key string) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errorf(http.StatusForbidden, "AccessDenied", "AccessDenied: anonymous access is not allowed; sign the request.")
	}
	scheme, cred, _ := strings.Cut(auth, " ")
	if scheme != "OSS" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "Authorization scheme %q is not supported by the emulator; use signature version 1 (OSS).", scheme)
	}
	id, sig, ok := strings.Cut(cred, ":")
	if !ok || id == "" || sig == "" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "Authorization header is invalid.")
	}
	secret, ok := s.keys[id]
	if !ok {
		return errorf(http.StatusForbidden, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.").with("OSSAccessKeyId", id)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return errorf(http.StatusForbidden, "AccessDenied", "OSS authentication requires a valid Date.")
	}
	if skew := s.now().Sub(date); skew > maxClockSkew || skew < -maxClockSkew {
		return errorf(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.").
			with("RequestTime", r.Header.Get("Date")).
			with("ServerTime", s.now().UTC().Format(time.RFC3339))
	}
	toSign := stringToSign(r, bucket, key)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return errorf(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.").
			with("StringToSign", toSign).
			with("OSSAccessKeyId", id)
	}
	return nil
}

func stringToSign(r *http.Request, bucket, key string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-Md5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(r.Header.Get("Date") + "\n")

	var names []string
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-oss-") {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString(n + ":" + r.Header.Get(n) + "\n")
	}

	b.WriteString("/" + bucket + "/" + key)
	b.WriteString(canonicalSubresources(r.URL.Query()))
	return b.String()
}

func canonicalSubresources(q url.Values) string {
	var names []string
	for name := range q {
		if signedSubresources[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n
		if v := q.Get(n); v != "" {
			parts[i] += "=" + v
		}
	}
	return "?" + strings.Join(parts, "&")
}
