package refresh

import (
	"context"
	"log/slog"
)

// Credentials are an Alibaba Cloud access key, or an STS token's three
// parts. They never appear in logs or errors: String hides them.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String names the key id's first characters only.
func (c Credentials) String() string {
	id := c.AccessKeyID
	if len(id) > 4 {
		id = id[:4]
	}
	return "Credentials{" + id + "…}"
}

// GoString hides the secrets from %#v as well.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps the secrets out of structured logs (slog ignores String).
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Empty reports whether no key is set.
func (c Credentials) Empty() bool { return c.AccessKeyID == "" || c.AccessKeySecret == "" }

type credentialsKey struct{}

// WithCredentials returns a context carrying the credentials of one
// invocation (FC passes the function role's STS token in request headers).
func WithCredentials(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, credentialsKey{}, c)
}

// CredentialsFrom returns the credentials WithCredentials stored, if any.
func CredentialsFrom(ctx context.Context) (Credentials, bool) {
	c, ok := ctx.Value(credentialsKey{}).(Credentials)
	return c, ok && !c.Empty()
}
