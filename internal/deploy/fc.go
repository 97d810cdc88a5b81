package deploy

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// checkFC checks s.yaml and the ROS stacks it deploys.
func (c *checker) checkFC() {
	data, err := fs.ReadFile(c.fsys, ServerlessFile)
	if err != nil {
		c.problem("%v", err)
		return
	}
	raw, err := loadYAML(data)
	if err != nil {
		c.problem("%s: %v", ServerlessFile, err)
		return
	}
	top := mapOf(raw)
	resources := mapsOf(top["resources"])
	r := &resolver{vars: mapOf(top["vars"]), outputs: map[string]map[string]string{}}
	var stacks []*stack
	for _, key := range sortedKeys(resources) {
		if str(resources[key], "component") != "ros" {
			continue
		}
		r.where = key
		p, err := r.resolve(resources[key]["props"])
		if err != nil {
			c.problem("%s %s: %v", ServerlessFile, key, err)
			continue
		}
		props := mapOf(p)
		st, t := c.rosStack(ServerlessFile, key, props)
		if st == nil {
			continue
		}
		stacks = append(stacks, st)
		r.outputs[key] = st.outputs
		c.res.FC = append(c.res.FC, fmt.Sprintf("ROS stack %s (%s, region %s):", str(props, "name"), t.file, str(props, "region")))
		c.res.FC = append(c.res.FC, describeStack(st)...)
	}
	roleOwner := map[string]string{}
	for _, key := range sortedKeys(resources) {
		switch comp := str(resources[key], "component"); comp {
		case "ros":
		case "fc3":
			r.where = key
			p, err := r.resolve(resources[key]["props"])
			if err != nil {
				c.problem("%s %s: %v", ServerlessFile, key, err)
				continue
			}
			c.checkFunction(key, mapOf(p), stacks, roleOwner)
		default:
			c.problem("%s %s: deploy-check does not know the component %q", ServerlessFile, key, comp)
		}
	}
	c.fcNeeds(r.envs)
}

// rosStack evaluates the ROS template of a ros resource of file.
func (c *checker) rosStack(file, key string, props map[string]any) (*stack, *template) {
	tfile := path.Clean(str(props, "template"))
	data, err := fs.ReadFile(c.fsys, tfile)
	if err != nil {
		c.problem("%s %s: template: %v", file, key, err)
		return nil, nil
	}
	t, err := parseTemplate(tfile, data)
	if err != nil {
		c.problem("%v", err)
		return nil, nil
	}
	params := map[string]string{}
	for k, v := range mapOf(props["parameters"]) {
		params[k] = fmt.Sprint(v)
	}
	st, err := evaluate(t, params, rosPseudo(str(props, "region"), str(props, "name")), rosAttr)
	if err != nil {
		c.problem("%s %s: %v", file, key, err)
		return nil, nil
	}
	if bucket, prefix := c.spill(); bucket != "" && (params["SpillBucket"] != bucket || st.params["SpillPrefix"] != prefix) {
		c.problem("%s %s: the stack's spill is %s/%s, the config's %s/%s", file, key,
			params["SpillBucket"], st.params["SpillPrefix"], bucket, prefix)
	}
	return st, t
}

func rosPseudo(region, stackName string) map[string]string {
	return map[string]string{"ALIYUN::Region": region, "ALIYUN::TenantId": account, "ALIYUN::AccountId": account,
		"ALIYUN::StackName": stackName}
}

// describeStack lists what a stack creates.
func describeStack(st *stack) []string {
	rank := map[string]int{"ALIYUN::RAM::ManagedPolicy": 1, "ALIYUN::RAM::Role": 2, "ALIYUN::RAM::User": 3,
		"ALIYUN::MNS::Queue": 4, "ALIYUN::SLS::Project": 5, "ALIYUN::SLS::Logstore": 6, "ALIYUN::SLS::Index": 7}
	logicals := sortedKeys(st.resources)
	sort.SliceStable(logicals, func(i, j int) bool {
		return rank[fmt.Sprint(st.t.resources[logicals[i]]["Type"])] < rank[fmt.Sprint(st.t.resources[logicals[j]]["Type"])]
	})
	var out []string
	for _, logical := range logicals {
		p := st.resources[logical]
		switch typ := fmt.Sprint(st.t.resources[logical]["Type"]); typ {
		case "ALIYUN::RAM::ManagedPolicy":
			out = append(out, fmt.Sprintf("  RAM policy %s: %s", str(p, "PolicyName"), describeGrants(statementsOf("", p["PolicyDocument"]))))
		case "ALIYUN::RAM::Role", "ALIYUN::RAM::User":
			for _, pr := range st.principals(typ) {
				if pr.logical != logical {
					continue
				}
				var grants []string
				for _, name := range strList(mapOf(p["PolicyAttachments"])["Custom"]) {
					grants = append(grants, "policy "+name)
				}
				for _, pol := range asList(p["Policies"]) {
					grants = append(grants, describeGrants(statementsOf("", mapOf(pol)["PolicyDocument"])))
				}
				what := "RAM user " + pr.name
				if typ == "ALIYUN::RAM::Role" {
					what = "RAM role " + pr.name + ", trusted by " + strings.Join(pr.trusts, ", ")
				}
				out = append(out, fmt.Sprintf("  %s: %s", what, strings.Join(grants, "; ")))
			}
		case "ALIYUN::MNS::Queue":
			out = append(out, "  MNS queue "+str(p, "QueueName"))
		case "ALIYUN::SLS::Project":
			out = append(out, "  SLS project "+str(p, "Name"))
		case "ALIYUN::SLS::Logstore":
			out = append(out, "  SLS logstore "+str(p, "LogstoreName"))
		case "ALIYUN::SLS::Index":
			out = append(out, "  SLS index of "+str(p, "LogstoreName"))
		default:
			out = append(out, "  "+typ+" "+logical)
		}
	}
	return out
}

func describeGrants(stmts []statement) string {
	var parts []string
	for _, s := range stmts {
		res := strings.Join(s.resources, ", ")
		parts = append(parts, fmt.Sprintf("%s on %s", strings.Join(s.actions, " "), res))
	}
	return strings.Join(parts, "; ")
}

// checkFunction checks one fc3 resource of s.yaml.
func (c *checker) checkFunction(key string, props map[string]any, stacks []*stack, roleOwner map[string]string) {
	who := ServerlessFile + " " + key
	name := str(props, "functionName")
	c.packaged(who, "fc", key, str(props, "code"))
	line := fmt.Sprintf("function %s (%s, %s)", name, str(props, "runtime"), strings.TrimPrefix(str(props, "code"), "./"))

	want := map[string]string{}
	logs := mapOf(props["logConfig"])
	project, store := str(logs, "project"), str(logs, "logstore")
	switch {
	case props["logConfig"] == nil:
		c.problem("%s: no logConfig: the function's logs would be lost", who)
	case logs == nil:
		c.problem("%s: logConfig %v names a project only the deploy knows, which the role cannot be granted: use the stack's LogProject and LogStore", who, props["logConfig"])
	case !created(stacks, "ALIYUN::SLS::Project", "Name", project) || !created(stacks, "ALIYUN::SLS::Logstore", "LogstoreName", store):
		c.problem("%s: the Logstore %s/%s is not created by the stack", who, project, store)
	default:
		want[actionLogs] = fmt.Sprintf("acs:log:%s:%s:project/%s/logstore/%s", str(props, "region"), account, project, store)
	}
	dest := str(props, "asyncInvokeConfig", "destinationConfig", "onFailure", "destination")
	if dest != "" {
		if q, ok := queueOf(dest); !ok || !created(stacks, "ALIYUN::MNS::Queue", "QueueName", q) {
			c.problem("%s: the failure destination %s is not a queue the stack creates", who, dest)
		} else {
			want[actionFail] = dest
			line += ", failures to queue " + q
		}
	}

	role := str(props, "role")
	p, ok := findPrincipal(stacks, "ALIYUN::RAM::Role", role)
	switch {
	case role == "":
		c.problem("%s: no role: the function gets no credentials", who)
	case !ok:
		c.problem("%s: the role %s is not created by the stack", who, role)
	case roleOwner[role] != "":
		c.problem("%s: shares the role %s with %s: each function needs its own", who, p.name, roleOwner[role])
	default:
		roleOwner[role] = key
		if !setOf(p.trusts)["fc.aliyuncs.com"] {
			c.problem("%s: the role %s does not trust fc.aliyuncs.com: Function Compute cannot assume it", who, p.name)
		}
		c.checkGrants(who, p, want)
		line += ", role " + p.name
	}
	c.res.FC = append(c.res.FC, line)

	env := map[string]string{}
	for k, v := range mapOf(props["environmentVariables"]) {
		env[k] = fmt.Sprint(v)
	}
	c.checkSecrets(who, key, env, func(n string) bool { _, ok := envName(env[n]); return ok })

	for _, t := range asList(props["triggers"]) {
		c.checkTrigger(who, key, mapOf(t), dest != "", stacks)
	}
}

// checkTrigger checks one trigger of a function.
func (c *checker) checkTrigger(who, key string, t map[string]any, hasDest bool, stacks []*stack) {
	who += " trigger " + str(t, "triggerName")
	cfg := mapOf(t["triggerConfig"])
	typ := str(t, "triggerType")
	switch typ {
	case "http":
		c.res.FC = append(c.res.FC, fmt.Sprintf("  HTTP trigger %s (%s)", str(t, "triggerName"), strings.Join(strList(cfg["methods"]), " ")))
	case "timer":
		c.res.FC = append(c.res.FC, fmt.Sprintf("  timer trigger %s: %s, payload %s", str(t, "triggerName"), str(cfg, "cronExpression"), str(cfg, "payload")))
	case "oss":
		arn := str(t, "sourceArn")
		bucket := arn[strings.LastIndex(arn, ":")+1:]
		prefix := str(cfg, "filter", "key", "prefix")
		if !c.ruleBuckets()[bucket] && c.cfg != nil {
			c.problem("%s: no rule of the config names the bucket %s: every event would be ignored", who, bucket)
		}
		events := setOf(strList(cfg["events"]))
		if m := missing(c.handled, events); len(m) > 0 {
			c.problem("%s: does not subscribe %s, which the code handles: those changes would never reach the CDN", who, joinSorted(m))
		}
		if x := missing(events, c.handled); len(x) > 0 {
			c.problem("%s: subscribes %s, which the code ignores", who, joinSorted(x))
		}
		if sb, sp := c.spill(); sb == bucket && strings.HasPrefix(sp, prefix) {
			c.problem("%s: the prefix %q covers the spill %s: spill writes would trigger the function", who, prefix, sp)
		}
		if !hasDest {
			c.problem("%s: the function has no failure destination: an event still failing after its retries would be dropped", who)
		}
		role := c.invocationRole(who, str(t, "invocationRole"), "oss.aliyuncs.com", stacks)
		c.res.FC = append(c.res.FC, fmt.Sprintf("  OSS trigger %s: bucket %s, prefix %q, %d events, invoked as %s",
			str(t, "triggerName"), bucket, prefix, len(events), role))
	case "cdn_events":
		if !cdnEventNames[str(cfg, "eventName")] {
			c.problem("%s: eventName %q is not a CDN event", who, str(cfg, "eventName"))
		}
		domains := strList(mapOf(cfg["filter"])["domain"])
		if len(domains) == 0 {
			c.problem("%s: no filter.domain: the function would fire for every domain of the account", who)
		}
		for _, d := range domains {
			if !c.ruleDomains()[d] && c.cfg != nil {
				c.problem("%s: the domain %s is not one the config's rules name", who, d)
			}
		}
		role := c.invocationRole(who, str(t, "invocationRole"), "cdn.aliyuncs.com", stacks)
		c.res.FC = append(c.res.FC, fmt.Sprintf("  CDN event trigger %s: %s on %s, invoked as %s",
			str(t, "triggerName"), str(cfg, "eventName"), strings.Join(domains, ", "), role))
	default:
		c.problem("%s: deploy-check does not know the trigger type %q", who, typ)
	}
}

// invocationRole checks a trigger's role: created by the stack, trusted by
// service alone, allowed to invoke functions and nothing else.
func (c *checker) invocationRole(who, role, service string, stacks []*stack) string {
	p, ok := findPrincipal(stacks, "ALIYUN::RAM::Role", role)
	if !ok {
		c.problem("%s: the invocation role %q is not created by the stack: %s could not invoke the function", who, role, service)
		return role
	}
	if len(p.trusts) != 1 || p.trusts[0] != service {
		c.problem("%s: the invocation role %s is trusted by %v, want %s alone", who, p.name, p.trusts, service)
	}
	stmts, problems := p.grants()
	for _, pr := range problems {
		c.problem("%s: %s", who, pr)
	}
	for _, s := range stmts {
		for _, a := range s.actions {
			if a != actionInvoke {
				c.problem("%s: the invocation role %s grants %s; it needs %s only", who, p.name, a, actionInvoke)
			}
		}
	}
	if !allows(stmts, actionInvoke, "*") {
		c.problem("%s: the invocation role %s does not grant %s", who, p.name, actionInvoke)
	}
	return p.name
}

func findPrincipal(stacks []*stack, typ, arn string) (principal, bool) {
	for _, st := range stacks {
		for _, p := range st.principals(typ) {
			if p.arn == arn && arn != "" {
				return p, true
			}
		}
	}
	return principal{}, false
}

func created(stacks []*stack, typ, prop, value string) bool {
	for _, st := range stacks {
		for logical, p := range st.resources {
			if st.t.resources[logical]["Type"] == typ && str(p, prop) == value && value != "" {
				return true
			}
		}
	}
	return false
}

// queueOf returns the queue of an MNS destination ARN,
// acs:mns:REGION:ACCOUNT:/queues/NAME/messages.
func queueOf(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":/queues/")
	if !ok || !strings.HasPrefix(arn, "acs:mns:") {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/messages")
	return name, ok && name != ""
}

// fcNeeds lists the environment variables s.yaml reads.
func (c *checker) fcNeeds(envs []envUse) {
	users := map[string][]string{}
	optional := map[string]bool{}
	for _, e := range envs {
		users[e.Name] = append(users[e.Name], e.Where)
		optional[e.Name] = e.Optional
	}
	for _, n := range sortedKeys(users) {
		state := ""
		if c.opt.Getenv != nil {
			state = ": unset"
			if c.opt.Getenv(n) != "" {
				state = ": set"
			}
		}
		kind := "required"
		if optional[n] {
			kind = "optional"
		}
		c.res.Needs = append(c.res.Needs, fmt.Sprintf("s deploy: environment %s (%s, for %s)%s", n, kind, strings.Join(uniq(users[n]), ", "), state))
	}
}
