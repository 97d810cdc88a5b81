package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// What the code does, as the deployment must allow it.

// codeActions are the RAM actions the functions' code calls: the CDN and
// DCDN APIs of internal/alicdn (named in internal/refresh), and the spill's OSS requests
// (internal/spill: PutObject, GetObject, DeleteObject, ListObjectsV2).
var codeActions = func() map[string]bool {
	m := map[string]bool{"oss:PutObject": true, "oss:GetObject": true, "oss:DeleteObject": true, "oss:ListObjects": true}
	for _, a := range []string{refresh.APIRefresh, refresh.APIPush, refresh.APICacheTag, refresh.APIQuota, refresh.APITasks,
		refresh.APITaskByID, refresh.APIPreloadDetail} {
		m["cdn:"+a] = true
	}
	for _, a := range []string{refresh.APIRefreshDCDN, refresh.APIPreloadDCDN, refresh.APICacheTagDCDN, refresh.APIRefreshER, refresh.APIQuotaDCDN,
		refresh.APITasksDCDN, refresh.APITaskByIDDCDN} {
		m["dcdn:"+a] = true
	}
	return m
}()

// Actions Function Compute itself takes with a function's role, each
// allowed only on what that function's s.yaml names.
const (
	actionLogs   = "log:PostLogStoreLogs" // writes the function's logs (logConfig)
	actionFail   = "mns:SendMessage"      // sends an event that failed for good (asyncInvokeConfig)
	actionInvoke = "fc:InvokeFunction"    // a trigger's invocation role only
)

// ossEvents are the OSS trigger events Function Compute documents
// (Function Compute: OSS trigger events), without the oss: prefix.
var ossEvents = []string{
	"ObjectCreated:PutObject", "ObjectCreated:PostObject", "ObjectCreated:CopyObject",
	"ObjectCreated:CompleteMultipartUpload", "ObjectCreated:AppendObject", "ObjectCreated:PutSymlink",
	"ObjectCreated:InitiateMultipartUpload", "ObjectCreated:UploadPart", "ObjectCreated:UploadPartCopy",
	"ObjectModified:UpdateObjectMeta",
	"ObjectRemoved:DeleteObject", "ObjectRemoved:DeleteObjects", "ObjectRemoved:AbortMultipartUpload",
}

// handledOSSEvents returns the OSS events that trigger.ParseOSS turns into
// a change, "oss:"-prefixed as a trigger subscribes them. It asks the
// parser itself, so that the trigger and the code cannot drift apart.
func handledOSSEvents() map[string]bool {
	out := map[string]bool{}
	for _, name := range ossEvents {
		rec := map[string]any{"eventName": name, "eventSource": "acs:oss", "eventTime": "2024-01-02T03:04:05.000Z",
			"oss": map[string]any{"bucket": map[string]any{"name": "b"}, "object": map[string]any{"key": "k"}}}
		raw, _ := json.Marshal(map[string]any{"events": []any{rec}})
		if ev, err := trigger.ParseOSS(raw); err == nil && len(ev.Changes) == 1 {
			out["oss:"+name] = true
		}
	}
	return out
}

// cdnEventNames are the events of Function Compute's CDN event trigger
// (triggerType cdn_events; Function Compute: CDN event triggers).
var cdnEventNames = map[string]bool{
	"CachedObjectsRefreshed": true, "CachedObjectsPushed": true, "CachedObjectsBlocked": true,
	"LogFileCreated": true, "CdnDomainStarted": true, "CdnDomainStopped": true,
	"CdnDomainAdded": true, "CdnDomainDeleted": true,
}

// secretSections are the config sections that hold secrets, by the
// package whose code reads them: a function whose main imports the package
// needs the section's secrets, and no other function may be given them.
var secretSections = map[string]string{
	"github.com/cdnrefresh/cdnrefresh/internal/webhook": "webhook",
	"github.com/cdnrefresh/cdnrefresh/internal/notify":  "notify",
	"github.com/cdnrefresh/cdnrefresh/internal/report":  "notify", // report.Runner sends to the channels
}

// secretBuilders are the handlers of internal/functions that build a
// package of secretSections, by name: a main that hands one to app.Main
// needs the section's secrets without importing the package.
var secretBuilders = map[string]string{
	"Webhook": "webhook", // functions.Webhook serves internal/webhook's handler (app.App.WebhookHandler)
	"Report":  "notify",  // functions.Report sends to the channels (app.App.Channels)
}

// sectionsUsed returns the secret sections functions/<fn> reads, from the
// imports of its main package and the handlers of internal/functions it
// names.
func sectionsUsed(fsys fs.FS, fn string) (map[string]bool, error) {
	dir := path.Join("functions", fn)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, e.Name(), src, 0)
		if err != nil {
			return nil, err
		}
		for _, imp := range f.Imports {
			if s, ok := secretSections[strings.Trim(imp.Path.Value, `"`)]; ok {
				used[s] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "functions" {
					if s, ok := secretBuilders[sel.Sel.Name]; ok {
						used[s] = true
					}
				}
			}
			return true
		})
	}
	return used, nil
}

// sectionNames returns the secret sections, each once, sorted.
func sectionNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range secretSections {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

var configRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// configSecrets returns, for each secret section of the config, the
// environment variables its ${NAME} references read.
func configSecrets(raw map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, section := range sectionNames() {
		names := map[string]bool{}
		collectRefs(raw[section], names)
		for n := range names {
			out[section] = append(out[section], n)
		}
		sort.Strings(out[section])
	}
	return out
}

func collectRefs(v any, names map[string]bool) {
	switch v := v.(type) {
	case string:
		for _, m := range configRef.FindAllStringSubmatch(v, -1) {
			names[m[1]] = true
		}
	case []any:
		for _, e := range v {
			collectRefs(e, names)
		}
	case map[string]any:
		for _, e := range v {
			collectRefs(e, names)
		}
	}
}

// literalSecret matches credentials and robot tokens written out in a file.
var literalSecret = regexp.MustCompile(`LTAI[0-9A-Za-z]{12,}|AKIA[0-9A-Z]{16}|access_token=[0-9A-Za-z]{16,}|` +
	`open-apis/bot/v2/hook/[0-9A-Za-z-]{16,}|webhook/send\?key=[0-9A-Za-z-]{16,}|hooks\.slack\.com/services/T[0-9A-Z]+/|` +
	`\bSEC[0-9a-f]{32,}`)

// secretName reports whether an environment variable's name says it holds
// a secret.
func secretName(name string) bool {
	for _, w := range []string{"SECRET", "TOKEN", "PASSWORD", "ACCESS_KEY"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
