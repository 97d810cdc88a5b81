package deploy

import (
	"fmt"
	"regexp"
	"strings"
)

// Placeholders for what only the deploy knows.
const (
	account   = "<account-id>"                // ${config('AccountID')}, ALIYUN::TenantId, AWS::AccountId
	envPrefix = "${env:"                      // ${env('NAME')} becomes ${env:NAME}
	envFmt    = envPrefix + "%s}"             //
	awsRegion = "<aws-region>"                // AWS::Region
	noEchoFmt = "<parameter %s (NoEcho)>"     // Ref of a NoEcho SAM parameter
	paramFmt  = "<parameter %s>"              // Ref of another SAM parameter without Default
	keyIDEnv  = "ALIBABA_CLOUD_ACCESS_KEY_ID" // what each Lambda function signs with
)

// envUse is one ${env('NAME')} of s.yaml.
type envUse struct {
	Name     string
	Optional bool   // has a default
	Where    string // the resource that reads it, or "vars"
}

// resolver works out the ${...} expressions of s.yaml the way Serverless
// Devs does, with placeholders for what only the deploy knows: the
// account ID and the environment.
type resolver struct {
	vars    map[string]any
	outputs map[string]map[string]string // resource key -> ROS stack outputs
	envs    []envUse
	where   string
}

var (
	devsExpr = regexp.MustCompile(`\$\{([^}]*)\}`)
	envCall  = regexp.MustCompile(`^env\(\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)$`)
)

// resolve replaces the ${...} in every string of v.
func (r *resolver) resolve(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return r.resolveString(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) resolveString(s string) (any, error) {
	var err error
	var whole any
	out := devsExpr.ReplaceAllStringFunc(s, func(m string) string {
		v, e := r.expr(strings.TrimSpace(m[2 : len(m)-1]))
		if e != nil && err == nil {
			err = e
		}
		if m == s {
			whole = v
		}
		return fmt.Sprint(v)
	})
	if err != nil {
		return nil, err
	}
	if whole != nil {
		return whole, nil
	}
	return out, nil
}

func (r *resolver) expr(e string) (any, error) {
	if m := envCall.FindStringSubmatch(e); m != nil {
		optional := strings.Contains(e, ",")
		r.envs = append(r.envs, envUse{Name: m[1], Optional: optional, Where: r.where})
		return fmt.Sprintf(envFmt, m[1]), nil
	}
	switch {
	case e == "config('AccountID')":
		return account, nil
	case strings.HasPrefix(e, "vars."):
		v, ok := lookup(r.vars, strings.Split(strings.TrimPrefix(e, "vars."), "."))
		if !ok {
			return nil, fmt.Errorf("${%s}: no such var", e)
		}
		return r.resolve(v)
	case strings.HasPrefix(e, "resources."):
		parts := strings.Split(e, ".")
		if len(parts) != 4 || parts[2] != "output" {
			return nil, fmt.Errorf("${%s}: deploy-check reads only ${resources.NAME.output.KEY}", e)
		}
		outs, ok := r.outputs[parts[1]]
		if !ok {
			return nil, fmt.Errorf("${%s}: %s is not a ros resource of s.yaml", e, parts[1])
		}
		v, ok := outs[parts[3]]
		if !ok {
			return nil, fmt.Errorf("${%s}: the stack has no output %s", e, parts[3])
		}
		return v, nil
	}
	return nil, fmt.Errorf("${%s}: deploy-check does not know this expression", e)
}

func lookup(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// envName returns NAME when v is exactly ${env('NAME')}.
func envName(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, envPrefix) || !strings.HasSuffix(s, "}") || strings.Count(s, "${") != 1 {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, envPrefix), "}"), true
}

// str returns the string at path in m ("" when absent).
func str(m map[string]any, path ...string) string {
	v, ok := lookup(m, path)
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
