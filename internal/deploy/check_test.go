package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"
)

// repo is the checkout these tests run in.
var repo = os.DirFS("../..")

const repoConfig = "deploy/config.yaml"

// TestCheckRepo: the descriptors of this checkout hang together, and the
// plan names what a first deploy needs created: a role per function, the
// OSS trigger's role, the queue, the Logstore, and the Lambda users.
func TestCheckRepo(t *testing.T) {
	t.Parallel()
	res := Check(repo, Options{Config: repoConfig})
	if len(res.Problems) > 0 {
		t.Fatalf("Check(repo) problems:\n%s", strings.Join(res.Problems, "\n"))
	}
	plan := strings.Join(append(res.FC, res.Lambda...), "\n")
	for _, want := range []string{
		"RAM role cdnrefresh-oss-refresh, trusted by fc.aliyuncs.com",
		"RAM role cdnrefresh-webhook, trusted by fc.aliyuncs.com",
		"RAM role cdnrefresh-report, trusted by fc.aliyuncs.com",
		"RAM role cdnrefresh-oss-trigger, trusted by oss.aliyuncs.com: fc:InvokeFunction on *",
		"MNS queue cdnrefresh-dlq",
		"SLS logstore function-logs",
		"function cdnrefresh-oss-refresh (custom.debian12, dist/fc/oss-refresh.zip), failures to queue cdnrefresh-dlq, role cdnrefresh-oss-refresh",
		`OSS trigger oss-changes: bucket my-site, prefix "static/", 9 events, invoked as cdnrefresh-oss-trigger`,
		"RAM user cdnrefresh-lambda-webhook: policy cdnrefresh-webhook",
		"function Report (provided.al2023 arm64, dist/lambda/report.zip), signs as RAM user cdnrefresh-lambda-report",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q; plan:\n%s", want, plan)
		}
	}
	needs := strings.Join(res.Needs, "\n")
	for _, want := range []string{
		"environment CDNREFRESH_WEBHOOK_SECRET (required, for webhook)",
		"environment DINGTALK_URL (required, for report)",
		"environment CDNREFRESH_REDIS_URL (optional",
	} {
		if !strings.Contains(needs, want) {
			t.Errorf("needs lack %q; needs:\n%s", want, needs)
		}
	}
}

// TestCheckSubscribesWhatTheCodeHandles ties the OSS trigger's event list to
// internal/trigger: the events the code turns into changes are exactly the
// ones subscribed, multipart steps excluded.
func TestCheckSubscribesWhatTheCodeHandles(t *testing.T) {
	t.Parallel()
	h := handledOSSEvents()
	for _, e := range []string{"oss:ObjectCreated:PutObject", "oss:ObjectModified:UpdateObjectMeta", "oss:ObjectRemoved:DeleteObjects"} {
		if !h[e] {
			t.Errorf("handledOSSEvents() lacks %s", e)
		}
	}
	for _, e := range []string{"oss:ObjectCreated:UploadPart", "oss:ObjectCreated:InitiateMultipartUpload", "oss:ObjectRemoved:AbortMultipartUpload"} {
		if h[e] {
			t.Errorf("handledOSSEvents() has %s, a multipart step the code ignores", e)
		}
	}
	if len(h) != 9 {
		t.Errorf("handledOSSEvents() = %d events, want the 9 of internal/trigger", len(h))
	}
}

// gap is a fixture of testdata/gaps: one edit of one file of the checkout,
// and the problem Check must then name.
type gap struct {
	edit `yaml:",inline"`
	Also []edit   `yaml:"also"` // edits of further files
	Want []string `yaml:"want"` // substrings of one problem each; none: no problem at all
}

type edit struct {
	File   string         `yaml:"file"`
	Delete []string       `yaml:"delete"` // paths a/b/0/c
	Set    map[string]any `yaml:"set"`    // path -> value; index len(list) appends
}

// TestCheckGaps: Check fails, naming the gap, when a fixture removes or
// breaks what a deploy needs: a role, the queue, a trigger's events, a
// secret given to the wrong function, a grant the code does not need...
// A fixture that wants no problem shows what may be added by data alone
// (cdn-events-added: a CDN event trigger and its role).
func TestCheckGaps(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/gaps/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var g gap
			if err := yaml.Unmarshal(data, &g); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			res := Check(overlay(t, append([]edit{g.edit}, g.Also...)), Options{Config: repoConfig})
			if len(g.Want) == 0 && len(res.Problems) > 0 {
				t.Errorf("problems, want none:\n%s", strings.Join(res.Problems, "\n"))
			}
			for _, want := range g.Want {
				found := false
				for _, p := range res.Problems {
					found = found || strings.Contains(p, want)
				}
				if !found {
					t.Errorf("no problem names %q; problems:\n%s", want, strings.Join(res.Problems, "\n"))
				}
			}
		})
	}
}

// overlay returns the checkout with the edits applied.
func overlay(t *testing.T, edits []edit) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(repo, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && p != "deploy" && p != "functions" && !strings.HasPrefix(p, "functions/") &&
				p != "internal" && p != "internal/functions" {
				return fs.SkipDir
			}
			return nil
		}
		b, err := fs.ReadFile(repo, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		f, ok := m[e.File]
		if !ok {
			t.Fatalf("fixture edits %s, which the checkout lacks", e.File)
		}
		doc, err := loadYAML(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range e.Delete {
			doc = change(t, doc, strings.Split(p, "/"), nil, true)
		}
		for p, v := range e.Set {
			doc = change(t, doc, strings.Split(p, "/"), v, false)
		}
		if f.Data, err = yaml.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// change deletes or sets the value at path in v.
func change(t *testing.T, v any, path []string, val any, del bool) any {
	t.Helper()
	if len(path) == 0 {
		return val
	}
	switch n := v.(type) {
	case map[string]any:
		if del && len(path) == 1 {
			if _, ok := n[path[0]]; !ok {
				t.Fatalf("fixture deletes %s, which is not there", path[0])
			}
			delete(n, path[0])
			return n
		}
		n[path[0]] = change(t, n[path[0]], path[1:], val, del)
		return n
	case []any:
		i, err := strconv.Atoi(path[0])
		if err == nil && i == len(n) && !del {
			return append(n, change(t, nil, path[1:], val, del))
		}
		if err != nil || i >= len(n) {
			t.Fatalf("fixture path element %s: not an index of a %d-element list", path[0], len(n))
		}
		if del && len(path) == 1 {
			return append(n[:i], n[i+1:]...)
		}
		n[i] = change(t, n[i], path[1:], val, del)
		return n
	}
	if !del && len(path) == 1 {
		return map[string]any{path[0]: val}
	}
	t.Fatalf("fixture path %v: not found", path)
	return nil
}

// TestSectionsUsed: a function's secrets are read from its main and from
// the internal/functions handler it names, however that package is
// imported, through the packages and the App methods the code uses.
func TestSectionsUsed(t *testing.T) {
	t.Parallel()
	const handlers = `package functions

import (
	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	rep "github.com/cdnrefresh/cdnrefresh/internal/report"
)

func Quiet(a *app.App) (platform.Handlers, error) { return platform.Handlers{}, nil }

func Loud(a *app.App) (platform.Handlers, error) {
	_, err := a.Channels()
	return platform.Handlers{}, err
}

func Summary(a *app.App) (platform.Handlers, error) {
	var _ rep.Sender
	return platform.Handlers{}, nil
}
`
	main := func(body string, imports ...string) string {
		return "package main\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\nfunc main() { " + body + " }\n"
	}
	const appImp, fnImp = `"github.com/cdnrefresh/cdnrefresh/internal/app"`, `"github.com/cdnrefresh/cdnrefresh/internal/functions"`
	tests := []struct {
		name, main string
		want       []string
	}{
		{"a handler that reads nothing", main(`app.Main("x", functions.Quiet)`, appImp, fnImp), nil},
		{"a handler that calls Channels", main(`app.Main("x", functions.Loud)`, appImp, fnImp), []string{"notify"}},
		{"an aliased import of the handlers", main(`app.Main("x", fn.Loud)`, appImp, "fn "+fnImp), []string{"notify"}},
		{"a handler using a secret package", main(`app.Main("x", functions.Summary)`, appImp, fnImp), []string{"notify"}},
		{"a main that builds its handler", main(`var a *app.App; a.WebhookHandler()`, appImp), []string{"webhook"}},
		{"a main that imports a secret package", main(`webhook.New()`, appImp, `"github.com/cdnrefresh/cdnrefresh/internal/webhook"`), []string{"webhook"}},
		{"a variable named functions is not the package", main(`var functions struct{ Loud int }; _ = functions.Loud`, appImp), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{
				"functions/x/main.go":            {Data: []byte(tt.main)},
				"internal/functions/handlers.go": {Data: []byte(handlers)},
			}
			used, err := sectionsUsed(fsys, "x")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for s := range used {
				got = append(got, s)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("sections = %q, want %q", got, tt.want)
			}
		})
	}
}
