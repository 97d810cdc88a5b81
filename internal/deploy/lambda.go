package deploy

import (
	"fmt"
	"io/fs"
	"strings"
)

// Lambda packages and the RAM users their functions sign with.
const (
	LambdaStackFile = "deploy/lambda.s.yaml"
	LambdaArch      = "arm64"              // make package builds the Lambda zips for it
	lambdaRuntime   = "provided.al2023"    //
	lambdaUserName  = "cdnrefresh-lambda-" // + the function: deploy/ros.yaml, Platform lambda
)

// checkLambda checks template.yml and the ROS stack of
// deploy/lambda.s.yaml that creates the RAM users of its functions.
func (c *checker) checkLambda() {
	data, err := fs.ReadFile(c.fsys, SAMFile)
	if err != nil {
		c.problem("%v", err)
		return
	}
	t, err := parseTemplate(SAMFile, data)
	if err != nil {
		c.problem("%v", err)
		return
	}
	t.outputs = nil // they name resources SAM generates
	params := map[string]string{}
	var needs []string
	for _, name := range sortedKeys(t.params) {
		p := t.params[name]
		if _, ok := p["Default"]; ok {
			continue
		}
		if p["NoEcho"] == true {
			params[name] = fmt.Sprintf(noEchoFmt, name)
		} else {
			params[name] = fmt.Sprintf(paramFmt, name)
		}
		needs = append(needs, name)
	}
	c.res.Needs = append(c.res.Needs, "sam deploy: parameters "+strings.Join(needs, ", "))
	st, err := evaluate(t, params, map[string]string{"AWS::Region": awsRegion, "AWS::AccountId": account}, samAttr)
	if err != nil {
		c.problem("%v", err)
		return
	}

	users := c.lambdaUsers()
	keyOwner := map[string]string{}
	c.res.Lambda = append(c.res.Lambda, "sam deploy ("+SAMFile+"):")
	for _, logical := range sortedKeys(st.resources) {
		switch typ := fmt.Sprint(t.resources[logical]["Type"]); typ {
		case "AWS::Serverless::Function":
			c.checkLambdaFunction(st, logical, users, keyOwner)
		default:
			c.res.Lambda = append(c.res.Lambda, fmt.Sprintf("  %s %s", typ, logical))
		}
	}
}

// withGlobals returns a function's properties with the template's
// Globals.Function under them (environment variables merged).
func withGlobals(st *stack, logical string) (map[string]any, error) {
	g, err := st.eval(mapOf(st.t.globals["Function"]))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range mapOf(g) {
		out[k] = v
	}
	vars := map[string]any{}
	for k, v := range mapOf(mapOf(out["Environment"])["Variables"]) {
		vars[k] = v
	}
	for k, v := range st.resources[logical] {
		out[k] = v
	}
	for k, v := range mapOf(mapOf(st.resources[logical]["Environment"])["Variables"]) {
		vars[k] = v
	}
	out["Environment"] = map[string]any{"Variables": vars}
	return out, nil
}

func (c *checker) checkLambdaFunction(st *stack, logical string, users *stack, keyOwner map[string]string) {
	who := SAMFile + " " + logical
	p, err := withGlobals(st, logical)
	if err != nil {
		c.problem("%s: %v", who, err)
		return
	}
	code := str(p, "CodeUri")
	fn := strings.TrimSuffix(code[strings.LastIndex(code, "/")+1:], ".zip")
	c.packaged(who, "lambda", fn, code)
	if str(p, "Runtime") != lambdaRuntime || str(p, "Handler") != "bootstrap" || fmt.Sprint(p["Architectures"]) != "["+LambdaArch+"]" {
		c.problem("%s: runtime %s, handler %s, architectures %v; make package builds bootstrap for %s on %s",
			who, str(p, "Runtime"), str(p, "Handler"), p["Architectures"], LambdaArch, lambdaRuntime)
	}
	if v, ok := p["ReservedConcurrentExecutions"]; ok {
		c.problem("%s: reserves concurrency %v by default: an account whose limit is 10 (a new one) refuses the deploy; make it an optional parameter", who, v)
	}
	env := map[string]string{}
	for k, v := range mapOf(mapOf(p["Environment"])["Variables"]) {
		env[k] = fmt.Sprint(v)
	}
	noEcho := func(n string) bool {
		return strings.HasPrefix(env[n], "<parameter ") && strings.HasSuffix(env[n], "(NoEcho)>")
	}
	c.checkSecrets(who, fn, env, noEcho)
	for _, n := range []string{keyIDEnv, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"} {
		switch {
		case !noEcho(n):
			c.problem("%s: %s is %q, not a NoEcho parameter", who, n, env[n])
		case keyOwner[env[n]] != "":
			c.problem("%s: signs with the same %s as %s: each function needs its own RAM user", who, env[n], keyOwner[env[n]])
		default:
			keyOwner[env[n]] = logical
		}
	}

	line := fmt.Sprintf("  function %s (%s %s, %s), signs as RAM user %s%s", logical, lambdaRuntime, LambdaArch, code, lambdaUserName, fn)
	dest := str(p, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination")
	if dest != "" {
		line += ", failures to " + dest
		if !sendsTo(p["Policies"], dest[strings.LastIndex(dest, ":")+1:]) {
			c.problem("%s: no SQSSendMessagePolicy for its failure destination %s", who, dest)
		}
	}
	c.res.Lambda = append(c.res.Lambda, line)
	for _, e := range sortedKeys(mapOf(p["Events"])) {
		ev := mapOf(mapOf(p["Events"])[e])
		props := mapOf(ev["Properties"])
		switch str(ev, "Type") {
		case "S3":
			events := setOf(strList(props["Events"]))
			if want := setOf([]string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}); len(missing(want, events)) > 0 {
				c.problem("%s event %s: subscribes %s; the code handles %s", who, e, joinSorted(events), joinSorted(want))
			}
			if dest == "" {
				c.problem("%s event %s: the function has no failure destination: an event still failing after its retries would be dropped", who, e)
			}
			c.res.Lambda = append(c.res.Lambda, fmt.Sprintf("    S3 event %s: bucket %s, %s", e, str(props, "Bucket"), joinSorted(events)))
		default:
			c.res.Lambda = append(c.res.Lambda, fmt.Sprintf("    %s event %s", str(ev, "Type"), e))
		}
	}
	if _, ok := p["FunctionUrlConfig"]; ok {
		c.res.Lambda = append(c.res.Lambda, "    Function URL (the function authenticates requests)")
	}
	if users == nil {
		return
	}
	for _, u := range users.principals("ALIYUN::RAM::User") {
		if u.name == lambdaUserName+fn {
			c.checkGrants(who, u, nil)
			return
		}
	}
	c.problem("%s: the stack of %s creates no RAM user %s%s to sign with", who, LambdaStackFile, lambdaUserName, fn)
}

// samAttr gives Ref and Fn::GetAtt of SAM resources: symbolic names, since
// only the deploy knows the real ones.
func samAttr(s *stack, logical, name string) (string, error) {
	typ := fmt.Sprint(s.t.resources[logical]["Type"])
	switch {
	case typ == "AWS::S3::Bucket" && name == "":
		if b, err := s.property(logical, "BucketName"); err == nil {
			return b, nil
		}
	case typ == "AWS::SQS::Queue" && name == "Arn":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", awsRegion, account, logical), nil
	case typ == "AWS::SQS::Queue" && name == "QueueName":
		return logical, nil
	}
	if name == "" {
		return "<" + logical + ">", nil
	}
	return "<" + logical + "." + name + ">", nil
}

// sendsTo reports whether SAM policies include SQSSendMessagePolicy for queue.
func sendsTo(policies any, queue string) bool {
	for _, p := range asList(policies) {
		if str(mapOf(p), "SQSSendMessagePolicy", "QueueName") == queue {
			return true
		}
	}
	return false
}

// lambdaUsers evaluates the ROS stack of deploy/lambda.s.yaml, which
// creates the RAM users the Lambda functions sign as.
func (c *checker) lambdaUsers() *stack {
	data, err := fs.ReadFile(c.fsys, LambdaStackFile)
	if err != nil {
		c.problem("%v: nothing creates the RAM users of the Lambda functions", err)
		return nil
	}
	raw, err := loadYAML(data)
	if err != nil {
		c.problem("%s: %v", LambdaStackFile, err)
		return nil
	}
	top := mapOf(raw)
	r := &resolver{vars: mapOf(top["vars"])}
	resources := mapsOf(top["resources"])
	for _, key := range sortedKeys(resources) {
		if str(resources[key], "component") != "ros" {
			c.problem("%s %s: only ros resources belong here", LambdaStackFile, key)
			continue
		}
		p, err := r.resolve(resources[key]["props"])
		if err != nil {
			c.problem("%s %s: %v", LambdaStackFile, key, err)
			continue
		}
		props := mapOf(p)
		if st, t := c.rosStack(LambdaStackFile, key, props); st != nil {
			c.res.Lambda = append(c.res.Lambda, fmt.Sprintf("before it, s deploy -t %s: ROS stack %s (%s, region %s):",
				LambdaStackFile, str(props, "name"), t.file, str(props, "region")))
			c.res.Lambda = append(c.res.Lambda, describeStack(st)...)
			return st
		}
	}
	return nil
}
