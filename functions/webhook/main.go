// Command webhook is the function behind FC's HTTP trigger (or a Lambda
// Function URL) that CMS publish hooks, CI deploy jobs and people call to
// refresh or prefetch URLs, authenticated by HMAC signature. Its handler
// is functions.Webhook (app.WebhookHandler, which cdnrefresh serve webhook
// also serves over plain HTTP for trying it locally).
package main

import (
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
)

func main() { os.Exit(app.Main("webhook", functions.Webhook)) }
