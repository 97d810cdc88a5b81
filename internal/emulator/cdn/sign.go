package cdn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"
)

// StringToSign returns the v1 RPC string to sign for a request made with
// method and carrying params (query and form parameters together). The
// Signature parameter itself is left out. This is the string the API
// gateway quotes after "server string to sign is:" when a signature does
// not match.
func StringToSign(method string, params url.Values) string {
	p := make(url.Values, len(params))
	for k, v := range params {
		if k == "Signature" {
			continue
		}
		p[k] = v
	}
	canon := p.Encode() // sorted keys; QueryEscape on keys and values
	canon = strings.ReplaceAll(canon, "+", "%20")
	canon = strings.ReplaceAll(canon, "*", "%2A")
	canon = strings.ReplaceAll(canon, "%7E", "~")
	return strings.ToUpper(method) + "&%2F&" + url.QueryEscape(canon)
}

// Sign returns base64(HMAC-SHA1(secret + "&", stringToSign)), the value of
// the Signature parameter.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
