// Package deploy checks the deployment descriptors offline — s.yaml and the
// ROS template it deploys (Function Compute), template.yml (AWS SAM), the
// config the packages carry — against each other and against the code,
// and says what a deploy would create. It also writes the reproducible zip
// packages the descriptors point at.
//
// Check knows no function by name: the functions are the fc3 resources of
// s.yaml and the AWS::Serverless::Function resources of template.yml, each
// built from functions/<name>. What it knows of the code is in code.go:
// the RAM actions the code calls, the OSS events it handles (asked of
// internal/trigger), and which config secrets a function reads (from the
// imports of its main package and the internal/functions handler it
// names).
package deploy

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
)

// Files Check reads, relative to the root it is given.
const (
	ServerlessFile = "s.yaml"
	SAMFile        = "template.yml"
)

// Options configure Check.
type Options struct {
	// Config is the config file the packages carry (make package).
	Config string
	// Getenv, when set, is the deployer's environment: Check then says
	// which variables s.yaml requires are still unset. Values are never
	// read into the result.
	Getenv func(string) string
}

// Result is what Check found.
type Result struct {
	FC       []string // what `s deploy` would create, one line each
	Lambda   []string // what `sam deploy` would create, and the stack before it
	Needs    []string // what the deployer supplies
	Problems []string // each names a gap; none means the descriptors hang together
}

type checker struct {
	fsys    fs.FS
	opt     Options
	res     *Result
	cfg     *config.Config
	secrets map[string][]string // config section -> env names it reads
	handled map[string]bool     // oss: events the code turns into changes
}

func (c *checker) problem(format string, args ...any) {
	c.res.Problems = append(c.res.Problems, fmt.Sprintf(format, args...))
}

// Check reads s.yaml, template.yml, the ROS template s.yaml names and
// opt.Config under fsys, and reports what a deploy would create and every
// gap between them and the code.
func Check(fsys fs.FS, opt Options) *Result {
	c := &checker{fsys: fsys, opt: opt, res: &Result{}, handled: handledOSSEvents()}
	c.loadConfig()
	for _, f := range []string{ServerlessFile, SAMFile, LambdaStackFile, opt.Config} {
		if data, err := fs.ReadFile(fsys, f); err == nil {
			for _, m := range literalSecret.FindAllString(string(data), -1) {
				c.problem("%s holds what looks like a literal secret (%.8s…): give secrets through the environment", f, m)
			}
		}
	}
	c.checkFC()
	c.checkLambda()
	sort.Strings(c.res.Problems)
	return c.res
}

func (c *checker) loadConfig() {
	data, err := fs.ReadFile(c.fsys, c.opt.Config)
	if err != nil {
		c.problem("config: %v", err)
		return
	}
	// Secrets are unset here; only the functions' environment has them.
	cfg, err := config.Parse(data, func(string) string { return "" })
	if err != nil {
		c.problem("%s: %v", c.opt.Config, err)
		return
	}
	c.cfg = cfg
	raw, _ := loadYAML(data)
	c.secrets = configSecrets(mapOf(raw))
	if _, ok := c.secrets["webhook"]; ok && len(c.secrets["webhook"]) == 0 && cfg.Webhook.Auth != config.AuthNone {
		c.secrets["webhook"] = []string{config.EnvWebhookSecret}
	}
	if cfg.Spill.OSS == nil {
		c.problem("%s: spill is a local directory, which dies with the instance and is not the report function's: use spill.oss", c.opt.Config)
	}
}

// spill returns the config's spill bucket and prefix ("" when unknown).
func (c *checker) spill() (bucket, prefix string) {
	if c.cfg == nil || c.cfg.Spill.OSS == nil {
		return "", ""
	}
	return c.cfg.Spill.OSS.Bucket, c.cfg.Spill.OSS.Prefix
}

// ruleBuckets and ruleDomains are what the config's rules name.
func (c *checker) ruleBuckets() map[string]bool {
	out := map[string]bool{}
	if c.cfg != nil {
		for _, r := range c.cfg.Rules {
			out[r.Bucket] = true
		}
	}
	return out
}

func (c *checker) ruleDomains() map[string]bool {
	out := map[string]bool{}
	if c.cfg != nil {
		for _, r := range c.cfg.Rules {
			for _, d := range r.Domains {
				out[d] = true
			}
		}
	}
	return out
}

// checkGrants checks a function's role or user: every action is one the
// code calls, or one Function Compute takes for what this function's
// descriptor names (want: action -> the one resource it may name), with no
// wildcard and no OSS access outside the spill; and every action in want
// is granted.
func (c *checker) checkGrants(who string, p principal, want map[string]string) []statement {
	stmts, problems := p.grants()
	for _, pr := range problems {
		c.problem("%s: %s", who, pr)
	}
	bucket, prefix := c.spill()
	for _, s := range stmts {
		for _, a := range s.actions {
			for _, r := range s.resources {
				c.checkGrant(who, p.name, a, r, want, bucket, prefix)
			}
		}
	}
	for _, a := range sortedKeys(want) {
		if !allows(stmts, a, want[a]) {
			c.problem("%s: %s does not grant %s on %s", who, p.name, a, want[a])
		}
	}
	if bucket != "" && !allows(stmts, "oss:PutObject", "acs:oss:*:*:"+bucket+"/"+prefix+"x") {
		c.problem("%s: %s cannot write the spill (oss:PutObject on %s/%s*): work it cannot do now would be lost", who, p.name, bucket, prefix)
	}
	return stmts
}

func (c *checker) checkGrant(who, name, action, resource string, want map[string]string, bucket, prefix string) {
	switch {
	case strings.Contains(action, "*"):
		c.problem("%s: %s grants %s: name each action the code calls", who, name, action)
	case want[action] != "":
		if resource != want[action] {
			c.problem("%s: %s grants %s on %s, not on %s", who, name, action, resource, want[action])
		}
	case action == actionLogs || action == actionFail || action == actionInvoke:
		c.problem("%s: %s grants %s, which nothing of this function needs", who, name, action)
	case !codeActions[action]:
		c.problem("%s: %s grants %s, which the code never calls", who, name, action)
	case strings.HasPrefix(action, "oss:"):
		spillObjects := "acs:oss:*:*:" + bucket + "/" + prefix + "*"
		if resource != spillObjects && resource != "acs:oss:*:*:"+bucket {
			c.problem("%s: %s grants %s on %s; the code reaches OSS only for the spill, %s", who, name, action, resource, spillObjects)
		}
	}
}

// checkSecrets checks the secrets one function is given (env: name ->
// value; fromEnv says whether a value comes from the deployer rather than
// the file): exactly those of the config sections its code reads.
func (c *checker) checkSecrets(who, fn string, env map[string]string, fromEnv func(string) bool) {
	used, err := sectionsUsed(c.fsys, fn)
	if err != nil {
		c.problem("%s: %v", who, err)
		return
	}
	own := map[string]string{}
	for _, section := range sortedKeys(c.secrets) {
		for _, name := range c.secrets[section] {
			if used[section] {
				own[name] = section
				if _, ok := env[name]; !ok {
					c.problem("%s reads %s (config %s) but is not given it: its cold start would fail", who, name, section)
				}
			} else if _, ok := env[name]; ok {
				c.problem("%s is given %s (config %s), which its code does not read", who, name, section)
			}
		}
	}
	for _, name := range sortedKeys(env) {
		secret := own[name] != "" || secretName(name)
		if secret && !fromEnv(name) {
			c.problem("%s: %s is written in the file: give it through the environment", who, name)
		}
		if secretName(name) && own[name] == "" && !strings.HasPrefix(name, "ALIBABA_CLOUD_") {
			c.problem("%s is given %s, which its code does not read", who, name)
		}
	}
}

// packaged checks that functions/<fn> exists, which make package builds into
// dist/<platform>/<fn>.zip, and that code names that zip.
func (c *checker) packaged(who, platform, fn, code string) {
	if _, err := fs.Stat(c.fsys, "functions/"+fn); err != nil {
		c.problem("%s: there is no functions/%s for make package to build", who, fn)
	}
	want := "dist/" + platform + "/" + fn + ".zip"
	if strings.TrimPrefix(code, "./") != want {
		c.problem("%s: code is %q; make package writes %s", who, code, want)
	}
}

func joinSorted(m map[string]bool) string {
	keys := sortedKeys(m)
	return strings.Join(keys, ", ")
}

func missing(want, have map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range want {
		if !have[k] {
			out[k] = true
		}
	}
	return out
}

func setOf(list []string) map[string]bool {
	out := map[string]bool{}
	for _, e := range list {
		out[e] = true
	}
	return out
}

func uniq(list []string) []string {
	slices.Sort(list)
	return slices.Compact(list)
}
