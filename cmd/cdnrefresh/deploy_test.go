package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"gopkg.in/yaml.v3"
)

// TestServerlessDevs checks s.yaml against the promises the README makes:
// three functions built by make build, each with its own role and policy
// file, only its own secrets, and an OSS trigger that never fires for the
// spill objects of deploy/config.yaml.
func TestServerlessDevs(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Component string `yaml:"component"`
			Props     struct {
				Runtime     string            `yaml:"runtime"`
				Code        string            `yaml:"code"`
				Role        string            `yaml:"role"`
				Concurrency int               `yaml:"instanceConcurrency"`
				Env         map[string]string `yaml:"environmentVariables"`
				Triggers    []struct {
					Type   string `yaml:"triggerType"`
					Config struct {
						Filter struct {
							Key struct{ Prefix string } `yaml:"key"`
						} `yaml:"filter"`
						Payload string `yaml:"payload"`
					} `yaml:"triggerConfig"`
				} `yaml:"triggers"`
			} `yaml:"props"`
		} `yaml:"resources"`
	}
	data, err := os.ReadFile("../../s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	secrets := map[string][]string{
		"oss-refresh": nil,
		"webhook":     {"CDNREFRESH_WEBHOOK_SECRET"},
		"report":      {"DINGTALK_URL", "DINGTALK_SECRET"},
	}
	cfgData, err := os.ReadFile("../../deploy/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(cfgData, func(string) string { return "" })
	if err != nil {
		t.Fatalf("deploy/config.yaml: %v", err)
	}
	for fn, own := range secrets {
		r, ok := doc.Resources[fn]
		if !ok {
			t.Errorf("s.yaml has no function %s", fn)
			continue
		}
		p := r.Props
		if r.Component != "fc3" || !strings.HasPrefix(p.Runtime, "custom") || p.Code != "./dist/"+fn {
			t.Errorf("%s: component %q runtime %q code %q; want fc3, a custom runtime, ./dist/%s (make build)", fn, r.Component, p.Runtime, p.Code, fn)
		}
		if !strings.HasSuffix(p.Role, "role/cdnrefresh-"+fn) {
			t.Errorf("%s: role %q, want its own role cdnrefresh-%s", fn, p.Role, fn)
		}
		if _, err := os.Stat("../../deploy/ram/" + fn + ".json"); err != nil {
			t.Errorf("%s: no policy for its role: %v", fn, err)
		}
		for name := range p.Env {
			if strings.Contains(name, "SECRET") || strings.Contains(name, "DINGTALK") {
				if !slices.Contains(own, name) {
					t.Errorf("%s is given %s, which it does not use", fn, name)
				}
			}
		}
		for _, tr := range p.Triggers {
			if tr.Type == "oss" && strings.HasPrefix(cfg.Spill.OSS.Prefix, tr.Config.Filter.Key.Prefix) {
				t.Errorf("%s: the OSS trigger prefix %q covers the spill prefix %q: spill writes would re-trigger", fn, tr.Config.Filter.Key.Prefix, cfg.Spill.OSS.Prefix)
			}
		}
	}
	if c := doc.Resources["oss-refresh"].Props.Concurrency; c < 2 {
		t.Errorf("oss-refresh instanceConcurrency = %d; coalescing needs concurrent invocations on one instance", c)
	}
}

// TestRAMPolicies: every policy parses, and grants no action the functions
// never call.
func TestRAMPolicies(t *testing.T) {
	used := map[string]bool{}
	for _, a := range []string{
		"cdn:RefreshObjectCaches", "cdn:PushObjectCache", "cdn:DescribeRefreshQuota", "cdn:DescribeRefreshTasks", "cdn:DescribePreloadDetailById",
		"dcdn:RefreshDcdnObjectCaches", "dcdn:PreloadDcdnObjectCaches", "dcdn:DescribeDcdnRefreshQuota", "dcdn:DescribeDcdnRefreshTasks",
		"oss:PutObject", "oss:GetObject", "oss:DeleteObject", "oss:ListObjects", "mns:SendMessage",
	} {
		used[a] = true
	}
	for _, fn := range []string{"oss-refresh", "webhook", "report"} {
		data, err := os.ReadFile("../../deploy/ram/" + fn + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Statement []struct {
				Effect   string
				Action   []string
				Resource string
			}
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s.json: %v", fn, err)
		}
		for _, s := range p.Statement {
			for _, a := range s.Action {
				if !used[a] || strings.Contains(a, "*") {
					t.Errorf("%s.json grants %s, which no function calls", fn, a)
				}
				if strings.HasPrefix(a, "oss:") && s.Resource == "*" {
					t.Errorf("%s.json grants %s on every bucket", fn, a)
				}
			}
		}
	}
}
