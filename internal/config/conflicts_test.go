package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
)

// TestConflicts checks that a config whose parts contradict each other
// is refused, and that the error names both places.
func TestConflicts(t *testing.T) {
	const d = "domains: [d.example.com]"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // each a substring of the error
	}{
		{"broad rule before a narrow one",
			"rules:\n  - {bucket: b, prefix: static/, " + d + "}\n  - {bucket: b, prefix: static/blog/, " + d + "}\n", nil,
			[]string{`config: rules[1] (bucket "b", prefix "static/blog/"): never used: rules[0] (bucket "b", prefix "static/") comes first and matches every key it would`}},
		{"rule without a prefix before one with",
			"rules:\n  - {bucket: b, " + d + "}\n  - {bucket: b, prefix: img/, " + d + "}\n", nil,
			[]string{`config: rules[1] (bucket "b", prefix "img/"): never used: rules[0] (bucket "b") comes first`}},
		{"suffix covered by an earlier suffix",
			"rules:\n  - {bucket: b, suffix: [.js, .css], " + d + "}\n  - {bucket: b, prefix: app/, suffix: .min.js, " + d + "}\n", nil,
			[]string{`config: rules[1] (bucket "b", prefix "app/"): never used: rules[0] (bucket "b") comes first`}},
		{"exclude does not hand keys on",
			"rules:\n  - {bucket: b, prefix: s/, exclude: [s/blog/], " + d + "}\n  - {bucket: b, prefix: s/blog/, " + d + "}\n", nil,
			[]string{`config: rules[1] (bucket "b", prefix "s/blog/"): never used: rules[0] (bucket "b", prefix "s/")`}},
		{"identical rules",
			"rules:\n  - {bucket: b, prefix: a/, " + d + "}\n  - {bucket: c, " + d + "}\n  - {bucket: b, prefix: a/, " + d + "}\n", nil,
			[]string{`config: rules[2] (bucket "b", prefix "a/"): identical to rules[0]: remove one`}},
		{"duplicate top-level key",
			"rules: [{bucket: b, " + d + "}]\nwindow: {duration: 1s}\nrules: [{bucket: c, " + d + "}]\n", nil,
			[]string{`config: line 3: rules: given twice (first at line 1): give each key once`}},
		{"duplicate key in a section",
			minimal + "window:\n  duration: 1s\n  duration: 2s\n", nil,
			[]string{`config: line 4: window.duration: given twice (first at line 3)`}},
		{"duplicate key in a rule",
			"rules:\n  - bucket: b\n    domains: [d.example.com]\n    bucket: c\n", nil,
			[]string{`config: line 4: rules[0].bucket: given twice (first at line 2)`}},
		{"duplicate key in a mapping of names",
			minimal + "webhook:\n  templates:\n    post: /a/{slug}/\n    post: /b/{slug}/\n", nil,
			[]string{`config: line 5: webhook.templates["post"]: given twice (first at line 4)`}},
		{"two documents",
			minimal + "---\nrules: [{bucket: c, " + d + "}]\n", nil,
			[]string{`config: line 2: a second YAML document starts here (the first starts at line 1): a config is one document`}},
		{"an empty second document",
			minimal + "---\n", nil,
			[]string{`config: line 2: a second YAML document starts here`}},
		{"both spill kinds",
			minimal + "spill:\n  dir: /tmp/spill\n  oss: {bucket: s}\n", nil,
			[]string{`config: spill: dir (line 3) and oss (line 4) both name the spill store: give one`}},
		{"short webhook secret from the fallback variable",
			minimal, map[string]string{"CDNREFRESH_WEBHOOK_SECRET": "hunter2"},
			[]string{`config: webhook.secret: CDNREFRESH_WEBHOOK_SECRET is 7 bytes long: give at least 16 (openssl rand -hex 32 makes one)`}},
		{"short webhook secret from a reference",
			minimal + "webhook: {secret: \"${HOOK_KEY}\"}\n", map[string]string{"HOOK_KEY": "k3y"},
			[]string{`config: webhook.secret: HOOK_KEY is 3 bytes long: give at least 16`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantParseError(t, tt.yaml, tt.env, tt.want) })
	}
}

// TestNoConflict checks configs that look alike but are fine: each rule
// can fire, each key is given once.
func TestNoConflict(t *testing.T) {
	const d = "domains: [d.example.com]"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
	}{
		{"narrow rule first", "rules:\n  - {bucket: b, prefix: static/blog/, " + d + "}\n  - {bucket: b, prefix: static/, " + d + "}\n", nil},
		{"other bucket", "rules:\n  - {bucket: b, " + d + "}\n  - {bucket: c, prefix: a/, " + d + "}\n", nil},
		{"sibling prefixes", "rules:\n  - {bucket: b, prefix: a/, " + d + "}\n  - {bucket: b, prefix: ab/, " + d + "}\n", nil},
		{"earlier suffix, later none", "rules:\n  - {bucket: b, suffix: .html, " + d + "}\n  - {bucket: b, prefix: a/, " + d + "}\n", nil},
		{"suffix not covered", "rules:\n  - {bucket: b, suffix: [.js], " + d + "}\n  - {bucket: b, suffix: [.js, .css], " + d + "}\n", nil},
		{"same keys, one key each", "rules:\n  - {bucket: b, prefix: a/, " + d + "}\nwindow: {duration: 1s}\n", nil},
		{"merge key overridden", "rules:\n  - &r {bucket: b, prefix: a/, " + d + "}\n  - {<<: *r, prefix: c/}\n", nil},
		{"leading document marker", "---\n" + minimal, nil},
		{"spill.dir and CDNREFRESH_SPILL_DIR", minimal + "spill: {dir: /tmp/a}\n", map[string]string{"CDNREFRESH_SPILL_DIR": "/tmp/b"}},
		{"spill.oss and CDNREFRESH_SPILL_DIR (which applies only without a spill entry)", minimal + "spill: {oss: {bucket: s}}\n", map[string]string{"CDNREFRESH_SPILL_DIR": "/tmp/b"}},
		{"secret of 16 bytes", minimal, map[string]string{"CDNREFRESH_WEBHOOK_SECRET": "0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(tt.yaml), env(tt.env)); err != nil {
				t.Errorf("Parse(%q) error: %v", tt.yaml, err)
			}
		})
	}
}

// TestUnsetReferenceNamed checks that a secret given as ${NAME} but unset
// in the function that needs it is refused with NAME in the message.
func TestUnsetReferenceNamed(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*config.Config) error
		want  string
	}{
		{"webhook secret", minimal + "webhook: {secret: \"${HOOK_KEY}\"}\n",
			func(c *config.Config) error { return c.Webhook.CheckSecret() },
			"config: webhook.secret: ${HOOK_KEY} is not set: set HOOK_KEY (or CDNREFRESH_WEBHOOK_SECRET) in the webhook function's environment"},
		{"no webhook secret at all", minimal,
			func(c *config.Config) error { return c.Webhook.CheckSecret() },
			"config: webhook.auth is hmac but there is no secret: set CDNREFRESH_WEBHOOK_SECRET or webhook.secret: ${NAME}"},
		{"robot url", minimal + "notify: {channels: [{type: slack, url: \"${SLACK_URL}\"}]}\n",
			func(c *config.Config) error { return c.Notify.Check() },
			"config: notify.channels[0] (slack): url: ${SLACK_URL} is not set: set SLACK_URL in this function's environment"},
		{"robot signing secret", minimal + "notify: {channels: [{type: dingtalk, url: \"${U}\", secret: \"${DINGTALK_SECRET}\"}]}\n",
			func(c *config.Config) error { return c.Notify.Check() },
			"config: notify.channels[0] (dingtalk): secret: ${DINGTALK_SECRET} is not set: set DINGTALK_SECRET in this function's environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yaml), env(map[string]string{"U": "https://oapi.dingtalk.com/robot/send?access_token=t"}))
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.yaml, err)
			}
			err = tt.check(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check of Parse(%q) = %v, want an error containing\n%s", tt.yaml, err, tt.want)
			}
		})
	}
}

// TestFromEnvConflicts checks the conflicts between the config sources.
func TestFromEnvConflicts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	big := minimal + "# " + strings.Repeat("x", 4096) + "\n"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both sources", map[string]string{"CDNREFRESH_CONFIG": file, "CDNREFRESH_CONFIG_YAML": minimal},
			"config: both CDNREFRESH_CONFIG (" + file + ") and CDNREFRESH_CONFIG_YAML are set: set only one"},
		{"inline config over 4 KB", map[string]string{"CDNREFRESH_CONFIG_YAML": big},
			"config: CDNREFRESH_CONFIG_YAML is 4146 bytes: Function Compute and Lambda allow 4 KB for all environment variables together: put the YAML in a file named by CDNREFRESH_CONFIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.FromEnv(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromEnv = %v, want an error containing\n%s", err, tt.want)
			}
		})
	}
	if _, err := config.FromEnv(env(map[string]string{"CDNREFRESH_CONFIG_YAML": minimal + "# " + strings.Repeat("x", 4096-len(minimal)-3) + "\n"})); err != nil {
		t.Errorf("FromEnv(inline config of 4096 bytes) error: %v", err)
	}
}
