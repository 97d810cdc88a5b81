package deploy

import (
	"fmt"
	"slices"
	"strings"
)

// A RAM statement of a role's or user's policies, evaluated.
type statement struct {
	policy    string
	actions   []string
	resources []string
}

func strList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func statementsOf(policy string, doc any) []statement {
	var out []statement
	for _, s := range asList(mapOf(doc)["Statement"]) {
		sm := mapOf(s)
		if str(sm, "Effect") != "Allow" {
			continue
		}
		out = append(out, statement{policy: policy, actions: strList(sm["Action"]), resources: strList(sm["Resource"])})
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// principal is a RAM role or user a stack creates.
type principal struct {
	st      *stack
	logical string
	name    string
	arn     string   // roles only
	trusts  []string // services that may assume a role
}

// grants returns every statement the principal's policies allow: inline
// ones and the stack's managed policies it attaches. A system policy it
// attaches is a problem: those are written for everyone, not for cdnrefresh.
func (p principal) grants() (stmts []statement, problems []string) {
	props := p.st.resources[p.logical]
	for _, pol := range asList(props["Policies"]) {
		pm := mapOf(pol)
		stmts = append(stmts, statementsOf(str(pm, "PolicyName"), pm["PolicyDocument"])...)
	}
	att := mapOf(props["PolicyAttachments"])
	for _, name := range strList(att["System"]) {
		problems = append(problems, fmt.Sprintf("%s attaches the system policy %s: attach only the stack's own policies", p.name, name))
	}
	for _, name := range strList(att["Custom"]) {
		found := false
		for _, logical := range sortedKeys(p.st.resources) {
			r := p.st.resources[logical]
			if p.st.t.resources[logical]["Type"] == "ALIYUN::RAM::ManagedPolicy" && str(r, "PolicyName") == name {
				stmts = append(stmts, statementsOf(name, r["PolicyDocument"])...)
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s attaches the policy %s, which %s does not create", p.name, name, p.st.t.file))
		}
	}
	return stmts, problems
}

// allows reports whether the statements allow action on resource (exactly,
// or through a trailing * in a statement's resource).
func allows(stmts []statement, action, resource string) bool {
	for _, s := range stmts {
		if !slices.Contains(s.actions, action) {
			continue
		}
		for _, r := range s.resources {
			if r == "*" || r == resource || (strings.HasSuffix(r, "*") && strings.HasPrefix(resource, strings.TrimSuffix(r, "*"))) {
				return true
			}
		}
	}
	return false
}

// principals returns the roles (ALIYUN::RAM::Role) or users
// (ALIYUN::RAM::User) the stack creates.
func (s *stack) principals(typ string) []principal {
	var out []principal
	for _, logical := range sortedKeys(s.resources) {
		if s.t.resources[logical]["Type"] != typ {
			continue
		}
		props := s.resources[logical]
		p := principal{st: s, logical: logical}
		if typ == "ALIYUN::RAM::Role" {
			p.name = str(props, "RoleName")
			p.arn = roleARN(p.name)
			for _, st := range asList(mapOf(props["AssumeRolePolicyDocument"])["Statement"]) {
				p.trusts = append(p.trusts, strList(mapOf(mapOf(st)["Principal"])["Service"])...)
			}
		} else {
			p.name = str(props, "UserName")
		}
		out = append(out, p)
	}
	return out
}

func roleARN(name string) string { return "acs:ram::" + account + ":role/" + name }

// rosAttr gives Ref and Fn::GetAtt of the ROS resources cdnrefresh uses.
func rosAttr(s *stack, logical, name string) (string, error) {
	typ := fmt.Sprint(s.t.resources[logical]["Type"])
	prop := map[string]string{
		"ALIYUN::RAM::Role": "RoleName", "ALIYUN::RAM::User": "UserName", "ALIYUN::RAM::ManagedPolicy": "PolicyName",
		"ALIYUN::MNS::Queue": "QueueName", "ALIYUN::SLS::Project": "Name", "ALIYUN::SLS::Logstore": "LogstoreName",
	}[typ]
	switch {
	case prop == "":
		return "", fmt.Errorf("deploy-check does not know the resource type %s", typ)
	case name == "" || name == prop || (typ == "ALIYUN::SLS::Project" && name == "Name"):
		return s.property(logical, prop)
	case typ == "ALIYUN::RAM::Role" && name == "Arn":
		n, err := s.property(logical, prop)
		return roleARN(n), err
	}
	return "", fmt.Errorf("deploy-check does not know %s.%s of %s", logical, name, typ)
}
