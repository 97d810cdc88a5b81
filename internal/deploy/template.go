package deploy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadYAML decodes YAML into maps, slices and scalars. The short forms of
// the template functions (!Ref X, !GetAtt A.B, !Sub S, !If [...]) become
// their long forms ({"Ref": X}, {"Fn::GetAtt": [A, B]}, ...), so that one
// evaluator reads SAM and ROS templates alike.
func loadYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return fromNode(doc.Content[0])
}

func fromNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	default:
		if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
			if err := n.Decode(&v); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return v, nil
		}
		v = n.Value
	}
	switch tag := strings.TrimPrefix(n.Tag, "!"); {
	case strings.HasPrefix(n.Tag, "!!") || n.Tag == "":
		return v, nil
	case tag == "Ref" || tag == "Condition":
		return map[string]any{tag: v}, nil
	case tag == "GetAtt":
		if s, ok := v.(string); ok {
			a, b, _ := strings.Cut(s, ".")
			v = []any{a, b}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + tag: v}, nil
	}
}

// template is a parsed ROS or CloudFormation (SAM) template.
type template struct {
	file       string
	params     map[string]map[string]any
	conditions map[string]any
	resources  map[string]map[string]any
	outputs    map[string]map[string]any
	globals    map[string]any
}

func parseTemplate(file string, data []byte) (*template, error) {
	raw, err := loadYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a template (no mapping at the top)", file)
	}
	t := &template{file: file, params: mapsOf(top["Parameters"]), conditions: mapOf(top["Conditions"]),
		resources: mapsOf(top["Resources"]), outputs: mapsOf(top["Outputs"]), globals: mapOf(top["Globals"])}
	if len(t.resources) == 0 {
		return nil, fmt.Errorf("%s: no Resources", file)
	}
	return t, nil
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func mapsOf(v any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, e := range mapOf(v) {
		out[k] = mapOf(e)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// noValue is what Ref ALIYUN::NoValue / AWS::NoValue evaluates to: the
// property is left out.
type noValue struct{}

// stack is a template evaluated with its parameters: the resources it
// would create, with their properties and outputs worked out.
type stack struct {
	t         *template
	params    map[string]string
	pseudo    map[string]string
	attr      func(s *stack, logical, name string) (string, error)
	resources map[string]map[string]any // created ones, evaluated properties
	outputs   map[string]string
	conds     map[string]bool
}

// evaluate works out which resources t creates with params (missing ones
// take their Default) and what their properties and outputs are. pseudo
// gives the values of pseudo parameters such as ALIYUN::Region; attr gives
// Fn::GetAtt of a created resource.
func evaluate(t *template, params, pseudo map[string]string, attr func(s *stack, logical, name string) (string, error)) (*stack, error) {
	s := &stack{t: t, params: map[string]string{}, pseudo: pseudo, attr: attr, resources: map[string]map[string]any{},
		outputs: map[string]string{}, conds: map[string]bool{}}
	for _, name := range sortedKeys(t.params) {
		if v, ok := params[name]; ok {
			s.params[name] = v
			continue
		}
		d, ok := t.params[name]["Default"]
		if !ok {
			return nil, fmt.Errorf("%s: parameter %s has no value and no Default", t.file, name)
		}
		s.params[name] = fmt.Sprint(d)
	}
	for _, name := range sortedKeys(params) {
		if _, ok := t.params[name]; !ok {
			return nil, fmt.Errorf("%s: no parameter %s", t.file, name)
		}
		if allowed, ok := t.params[name]["AllowedValues"].([]any); ok && !containsAny(allowed, params[name]) {
			return nil, fmt.Errorf("%s: parameter %s: %q is not one of %v", t.file, name, params[name], allowed)
		}
	}
	for _, name := range sortedKeys(t.conditions) {
		if _, err := s.condition(name); err != nil {
			return nil, err
		}
	}
	for _, logical := range sortedKeys(t.resources) {
		if ok, err := s.created(logical); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		props, err := s.eval(t.resources[logical]["Properties"])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", t.file, logical, err)
		}
		p, _ := props.(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		s.resources[logical] = p
	}
	for _, name := range sortedKeys(t.outputs) {
		o := t.outputs[name]
		if c, ok := o["Condition"].(string); ok {
			if on, err := s.condition(c); err != nil {
				return nil, err
			} else if !on {
				continue
			}
		}
		v, err := s.eval(o["Value"])
		if err != nil {
			return nil, fmt.Errorf("%s: output %s: %w", t.file, name, err)
		}
		s.outputs[name] = fmt.Sprint(v)
	}
	return s, nil
}

func containsAny(list []any, s string) bool {
	for _, e := range list {
		if fmt.Sprint(e) == s {
			return true
		}
	}
	return false
}

// created reports whether the resource exists and its Condition holds.
func (s *stack) created(logical string) (bool, error) {
	r, ok := s.t.resources[logical]
	if !ok {
		return false, nil
	}
	c, ok := r["Condition"].(string)
	if !ok {
		return true, nil
	}
	return s.condition(c)
}

func (s *stack) condition(name string) (bool, error) {
	if v, ok := s.conds[name]; ok {
		return v, nil
	}
	def, ok := s.t.conditions[name]
	if !ok {
		return false, fmt.Errorf("%s: no condition %s", s.t.file, name)
	}
	v, err := s.eval(def)
	if err != nil {
		return false, fmt.Errorf("%s: condition %s: %w", s.t.file, name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: condition %s is not true or false", s.t.file, name)
	}
	s.conds[name] = b
	return b, nil
}

// eval works out the value of a template expression.
func (s *stack) eval(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if fn == "Ref" || fn == "Condition" || strings.HasPrefix(fn, "Fn::") {
					return s.function(fn, arg)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (s *stack) function(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return s.ref(name)
	case "Condition":
		name, _ := arg.(string)
		return s.condition(name)
	case "Fn::GetAtt":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt wants [resource, attribute], got %v", arg)
		}
		return s.getAtt(fmt.Sprint(args[0]), fmt.Sprint(args[1]))
	case "Fn::Sub":
		str, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("deploy-check reads only the one-string form of Fn::Sub, got %v", arg)
		}
		return s.sub(str)
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If wants [condition, then, else], got %v", arg)
		}
		on, err := s.condition(fmt.Sprint(args[0]))
		if err != nil {
			return nil, err
		}
		if on {
			return s.eval(args[1])
		}
		return s.eval(args[2])
	case "Fn::Equals":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Equals wants two values, got %v", arg)
		}
		a, err := s.eval(args[0])
		if err != nil {
			return nil, err
		}
		b, err := s.eval(args[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Fn::Not":
		if len(args) != 1 {
			return nil, fmt.Errorf("Fn::Not wants one condition, got %v", arg)
		}
		b, err := s.eval(args[0])
		if err != nil {
			return nil, err
		}
		on, ok := b.(bool)
		if !ok {
			return nil, fmt.Errorf("Fn::Not of %v, not true or false", b)
		}
		return !on, nil
	}
	return nil, fmt.Errorf("deploy-check does not evaluate %s", fn)
}

func (s *stack) ref(name string) (any, error) {
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	switch name {
	case "ALIYUN::NoValue", "AWS::NoValue":
		return noValue{}, nil
	}
	if v, ok := s.pseudo[name]; ok {
		return v, nil
	}
	if _, ok := s.t.resources[name]; ok {
		if on, err := s.created(name); err != nil {
			return nil, err
		} else if !on {
			return nil, fmt.Errorf("{Ref: %s}: the resource is not created", name)
		}
		return s.attr(s, name, "")
	}
	return nil, fmt.Errorf("{Ref: %s}: no such parameter or resource", name)
}

func (s *stack) getAtt(logical, name string) (string, error) {
	if _, ok := s.t.resources[logical]; !ok {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: no resource %s", logical, name, logical)
	}
	if on, err := s.created(logical); err != nil {
		return "", err
	} else if !on {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: %s is not created", logical, name, logical)
	}
	return s.attr(s, logical, name)
}

// property evaluates one property of a resource, whether or not the
// resource has been evaluated yet (Fn::GetAtt may come first).
func (s *stack) property(logical, name string) (string, error) {
	props := mapOf(s.t.resources[logical]["Properties"])
	v, err := s.eval(props[name])
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", fmt.Errorf("%s has no %s", logical, name)
	}
	return fmt.Sprint(v), nil
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (s *stack) sub(str string) (string, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v any
		var e error
		if a, b, ok := strings.Cut(name, "."); ok && !strings.Contains(name, "::") {
			v, e = s.getAtt(a, b)
		} else {
			v, e = s.ref(name)
		}
		if e != nil && err == nil {
			err = e
		}
		return fmt.Sprint(v)
	})
	return out, err
}
