// Command webhook is the function behind FC's HTTP trigger (or a Lambda
// Function URL) that CMS publish hooks, CI deploy jobs and people call to
// refresh or prefetch URLs, authenticated by HMAC signature.
package main

import (
	"net/http"
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/webhook"
)

func main() {
	os.Exit(app.Main("webhook", func(a *app.App) (platform.Handlers, error) {
		h, err := newHandler(a)
		return platform.Handlers{HTTP: h}, err
	}))
}

// newHandler builds the webhook's HTTP handler over the App's pipeline. It
// refuses to start without a secret unless the config says auth: none.
// Each request writes one log line, with the platform's request_id.
func newHandler(a *app.App) (http.Handler, error) {
	w := a.Config.Webhook
	if err := w.CheckSecret(); err != nil {
		return nil, err
	}
	if w.Auth == config.AuthNone {
		a.Logger.Warn("webhook: authentication is off (webhook.auth: none): anyone who can reach the endpoint can refresh")
	}
	var seen webhook.ReplayCache // nil: the webhook's in-memory cache
	if r := a.ReplayCache(); r != nil {
		seen = r
	}
	return webhook.New(webhook.Options{
		Secret:        w.Secret,
		AuthNone:      w.Auth == config.AuthNone,
		MaxBodyBytes:  w.MaxBodyBytes,
		MaxURLs:       w.MaxURLs,
		Domain:        w.Domain,
		Templates:     templates(w.Templates),
		GitHub:        webhook.GitHub(w.GitHub),
		RateLimit:     w.RateLimit,
		RateBurst:     w.RateBurst,
		AllowedDomain: a.Rules.Allows,
		Seen:          seen,
		Logger:        platform.Logger,
	}, a.Pipeline)
}

// templates turns the config's templates into the webhook's.
func templates(m map[string]config.Template) map[string]webhook.Template {
	out := make(map[string]webhook.Template, len(m))
	for typ, t := range m {
		out[typ] = webhook.Template{
			URLs: t.URLs, Domain: t.Domain, SlugField: t.SlugField,
			DefaultLocale: t.DefaultLocale, HideDefaultLocale: t.HideDefaultLocale, Locales: t.Locales,
		}
	}
	return out
}
