package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/webhook"
)

// WebhookHandler builds the webhook's HTTP handler over the App's
// pipeline: the one the webhook function serves, and cdnrefresh serve
// webhook too. It refuses to start without a secret unless the config
// says auth: none. Each request writes one log line, with the platform's
// request_id when there is one.
func (a *App) WebhookHandler() (http.Handler, error) {
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
		Templates:     webhookTemplates(w.Templates),
		GitHub:        webhook.GitHub(w.GitHub),
		RateLimit:     w.RateLimit,
		RateBurst:     w.RateBurst,
		AllowedDomain: a.Rules.Allows,
		Seen:          seen,
		Logger:        a.requestLogger,
	}, a.Pipeline)
}

// requestLogger is the logger of the invocation in ctx (platform.Logger,
// which carries its request_id), or the App's outside one: a request that
// cdnrefresh serve receives over plain HTTP is no platform invocation.
func (a *App) requestLogger(ctx context.Context) *slog.Logger {
	if l := platform.Logger(ctx); l != slog.Default() {
		return l
	}
	return a.Logger
}

// webhookTemplates turns the config's templates into the webhook's.
func webhookTemplates(m map[string]config.Template) map[string]webhook.Template {
	out := make(map[string]webhook.Template, len(m))
	for typ, t := range m {
		out[typ] = webhook.Template{
			URLs: t.URLs, Domain: t.Domain, SlugField: t.SlugField,
			DefaultLocale: t.DefaultLocale, HideDefaultLocale: t.HideDefaultLocale, Locales: t.Locales,
		}
	}
	return out
}
