package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
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

// secretMethods are the App methods that build a package of
// secretSections, so that code calling one needs the section's secrets
// without importing the package.
var secretMethods = map[string]string{
	"WebhookHandler": "webhook", // app.App.WebhookHandler builds internal/webhook's handler
	"Channels":       "notify",  // app.App.Channels builds internal/notify's senders
	"Reporter":       "notify",  // app.App.Reporter's runner sends to them
}

// functionsPkg holds each function's handler, which its main hands to
// app.Main.
const functionsPkg = "github.com/cdnrefresh/cdnrefresh/internal/functions"

// sectionsUsed returns the secret sections functions/<fn> reads: those of
// the packages its main imports and of the App methods it calls, and
// those of the internal/functions handlers it names, read from their code
// the same way.
func sectionsUsed(fsys fs.FS, fn string) (map[string]bool, error) {
	used := map[string]bool{}
	var handlers []string // of internal/functions, named by the main
	err := eachGoFile(fsys, path.Join("functions", fn), func(f *ast.File) {
		for _, imp := range f.Imports { // blank ones too, which importPaths merges
			if s, ok := secretSections[strings.Trim(imp.Path.Value, `"`)]; ok {
				used[s] = true
			}
		}
		imports := importPaths(f)
		inspectSelectors(f, func(x, sel string) {
			if s, ok := secretMethods[sel]; ok {
				used[s] = true
			}
			if imports[x] == functionsPkg {
				handlers = append(handlers, sel)
			}
		})
	})
	if err != nil || len(handlers) == 0 {
		return used, err
	}
	// A handler's sections: those of its file's imports it uses and of
	// the App methods its body calls.
	err = eachGoFile(fsys, "internal/functions", func(f *ast.File) {
		imports := importPaths(f)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !slices.Contains(handlers, fd.Name.Name) {
				continue
			}
			inspectSelectors(fd, func(x, sel string) {
				if s, ok := secretSections[imports[x]]; ok {
					used[s] = true
				}
				if s, ok := secretMethods[sel]; ok {
					used[s] = true
				}
			})
		}
	})
	return used, err
}

// eachGoFile parses the non-test Go files of dir in fsys and calls f with
// each.
func eachGoFile(fsys fs.FS, dir string, f func(*ast.File)) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(fset, e.Name(), src, 0)
		if err != nil {
			return err
		}
		f(file)
	}
	return nil
}

// importPaths returns the path of each import of f by the name it has in
// f: its alias, or its path's last element (every package of ours, and
// those secretSections name, is called so).
func importPaths(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = p
	}
	return out
}

// inspectSelectors calls f with each selector x.sel under n whose x is a
// name (a package, or a variable such as an App).
func inspectSelectors(n ast.Node, f func(x, sel string)) {
	ast.Inspect(n, func(n ast.Node) bool {
		if se, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := se.X.(*ast.Ident); ok {
				f(id.Name, se.Sel.Name)
			}
		}
		return true
	})
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
