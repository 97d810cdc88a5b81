package config_test

import (
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
)

// TestParseRefreshKinds: the keys of the refresh kinds beyond URL lists —
// cache_tags, edge_routine, prefetch.query_hashkey, the exquery spelling —
// and force with object_type file, each refused with its reason.
func TestParseRefreshKinds(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // a substring of the error; "" means valid
	}{
		{"cache tags", rule("    cache_tags: [\"{dir}\", \"p-{base}.{ext}\", \"{key}\", site]\n"), ""},
		{"one cache tag", rule("    cache_tags: site\n"), ""},
		{"force with file and cache tags", rule("    force: true\n    cache_tags: [site]\n"), ""},
		{"edge routine", rule("    provider: dcdn\n    edge_routine: {id: name.sub, merge_domains: [a.example.com]}\n"), ""},
		{"query hashkey", rule("    on_create: both\n    prefetch: {query_hashkey: true}\n"), ""},
		{"exquery", rule("    object_type: exquery\n"), ""},
		{"force with file", rule("    force: true\n"), r0 + "force: force has no effect on File refreshes"},
		{"empty cache tag", rule("    cache_tags: [\"\"]\n"), r0 + `cache_tags[0]: "": empty cache tag`},
		{"cache tag with a comma", rule("    cache_tags: [\"a,b\"]\n"), r0 + `cache_tags[0]: "a,b": a cache tag cannot hold a comma`},
		{"cache tag with a newline", rule("    cache_tags: [\"a\\nb\"]\n"), r0 + "cache_tags[0]: \"a\\nb\": a cache tag cannot hold a newline"},
		{"unknown placeholder", rule("    cache_tags: [\"{slug}\"]\n"), r0 + `cache_tags[0]: "{slug}": unknown placeholder {slug} (want {key}, {dir}, {base}, {ext})`},
		{"edge routine on CDN", rule("    edge_routine: {id: name.sub}\n"), r0 + `edge_routine: Edge Routines are DCDN's (RefreshErObjectCaches): this rule's provider is "cdn"`},
		{"edge routine id", rule("    provider: dcdn\n    edge_routine: {id: name}\n"), r0 + `edge_routine.id: edge routine "name" is not Name.Subdomain`},
		{"edge routine without id", rule("    provider: dcdn\n    edge_routine: {merge_domains: [a.example.com]}\n"), r0 + "edge_routine.id: missing"},
		{"merge domain", rule("    provider: dcdn\n    edge_routine: {id: a.b, merge_domains: [\"*.example.com\"]}\n"), r0 + `edge_routine.merge_domains: merge domain: "*.example.com" is a wildcard`},
		{"query hashkey on DCDN", rule("    provider: dcdn\n    prefetch: {query_hashkey: true}\n"), r0 + "prefetch.query_hashkey: QueryHashkey is a PushObjectCache (CDN) parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), env(nil))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse(%q) = %v, want nil", tt.yaml, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Parse(%q) error =\n%v\nwant it to contain\n%s", tt.yaml, err, tt.want)
			case tt.name == "exquery" && cfg.Rules[0].ObjectType != config.IgnoreParams:
				t.Errorf("Parse(object_type: exquery) = %q, want ignore_params", cfg.Rules[0].ObjectType)
			}
		})
	}
}
