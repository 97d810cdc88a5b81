package webhook

import (
	"mime"
	"net/url"
)

// githubForm reports whether a request to route rt comes in GitHub's
// default content type, application/x-www-form-urlencoded, whose body is
// payload=<the JSON, URL-encoded>. GitHub signs that raw body, so the
// signature is checked on it before the JSON is taken out (formPayload).
func githubForm(rt route, contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && rt.name == "github" && mt == "application/x-www-form-urlencoded"
}

// formPayload returns the JSON that a form-encoded GitHub delivery
// carries in its one payload field.
func formPayload(body []byte) ([]byte, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("body", "not form encoding: %v", err)
	}
	switch p := v["payload"]; len(p) {
	case 0:
		return nil, badRequest("payload", "missing: a form-encoded GitHub delivery carries the JSON as payload=…")
	case 1:
		return []byte(p[0]), nil
	default:
		return nil, badRequest("payload", "given %d times: want one", len(p))
	}
}
