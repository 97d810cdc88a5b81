package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the YAML node tree alongside the Go type it fills, so
// that every error can name its line and its place (rules[0].domains[1]),
// and so that ${NAME} references are expanded before a value is typed
// (a duration or a count may come from the environment too).
//
// It does what yaml/v3's Decoder.KnownFields(true) does — an unknown key is
// an error — but Node.Decode has no strict mode and its messages name Go
// types (config.Rule) rather than places; TestDecodeAgreesWithYAML checks
// that both read the full example the same way.
//
// Struct tags under the key "config" say how a field takes references:
//
//	required  an unset variable is an error even as the whole value
//	secret    the value must be one ${NAME} reference, never a literal
//	positive  the value must be greater than zero
type decoder struct {
	getenv func(string) string
	set    map[string]bool // places the file gives a value for, e.g. "window.dedupe_ttl"
	errs   []error
	lines  map[string]int    // the line of each place's key, e.g. "spill.dir" -> 31
	vars   map[string]string // places given as one ${NAME} reference -> NAME
}

type options struct {
	required, secret, positive bool
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	stringsType   = reflect.TypeFor[Strings]()
	thresholdType = reflect.TypeFor[Threshold]()
	templateType  = reflect.TypeFor[Template]()
	collapseType  = reflect.TypeFor[Collapse]()
)

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.errs = append(d.errs, fmt.Errorf("line %d: %s", n.Line, msg))
}

// decode fills cfg, which holds the defaults, from the YAML document data.
// A config is one document: a second one (after ---) is an error rather
// than silently unread.
func (d *decoder) decode(data []byte, cfg *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		d.errs = append(d.errs, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")))
		return
	}
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		d.errs = append(d.errs, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")))
	default:
		d.errs = append(d.errs, fmt.Errorf("line %d: a second YAML document starts here (the first starts at line %d): a config is one document",
			next.Line, max(doc.Line, 1)))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return // an empty document: the checks say what is missing
	}
	d.value(doc.Content[0], reflect.ValueOf(cfg).Elem(), "", options{})
}

// once records that the key k names place, or reports that an earlier key
// of the same mapping named it: yaml/v3 would keep the last silently.
func (d *decoder) once(seen map[string]int, k *yaml.Node, place string) bool {
	if first, ok := seen[k.Value]; ok {
		d.errs = append(d.errs, fmt.Errorf("line %d: %s: given twice (first at line %d): give each key once", k.Line, place, first))
		return false
	}
	seen[k.Value] = k.Line
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// value fills v from n. A null leaves v as it was (its default).
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, o options) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	switch {
	case v.Type() == stringsType && n.Kind == yaml.ScalarNode:
		// A single suffix may be written without brackets.
		if s, ok := d.scalar(n, path, o); ok {
			v.Set(reflect.ValueOf(Strings{s}))
		}
		return
	case v.Type() == templateType && n.Kind == yaml.ScalarNode:
		// A template may be just its one URL.
		if s, ok := d.scalar(n, path, o); ok {
			v.Set(reflect.ValueOf(Template{URLs: Strings{s}}))
		}
		return
	case v.Type() == durationType || v.Type() == thresholdType:
		d.leaf(n, v, path, o)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, o)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, el := range n.Content {
			d.value(el, s.Index(i), fmt.Sprintf("%s[%d]", path, i), o)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.errorf(k, path, "a key must be a single value, got %s", describe(k))
				continue
			}
			place := fmt.Sprintf("%s[%q]", path, k.Value)
			if !d.once(seen, k, place) {
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(val, e, place, o)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	default:
		d.leaf(n, v, path, o)
	}
}

// credentialKeys are keys refused anywhere: credentials never live in the file.
var credentialKeys = map[string]bool{
	"credential": true, "credentials": true, "accesskey": true, "accesskeyid": true,
	"accesskeysecret": true, "secretaccesskey": true, "secretkey": true, "securitytoken": true,
}

// replacedKeys maps keys that once named a setting to the one key that
// names it now: each setting has one key.
var replacedKeys = map[string]string{
	"cdn.endpoint": "endpoints.cdn",
}

type field struct {
	index int
	opts  options
}

func fieldsOf(t reflect.Type) map[string]field {
	fs := map[string]field{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		var o options
		for opt := range strings.SplitSeq(f.Tag.Get("config"), ",") {
			switch opt {
			case "required":
				o.required = true
			case "secret":
				o.secret = true
			case "positive":
				o.positive = true
			}
		}
		fs[name] = field{i, o}
	}
	return fs
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of keys to values, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" { // <<: *anchor
			if val.Kind == yaml.AliasNode {
				val = val.Alias
			}
			d.mapping(val, v, path)
			continue
		}
		norm := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k.Value))
		child := k.Value
		if path != "" {
			child = path + "." + k.Value
		}
		switch _, known := fields[k.Value]; {
		case credentialKeys[norm]:
			d.errs = append(d.errs, fmt.Errorf("line %d: %q does not belong in the config file: credentials come from %s, %s and %s, or from the function's role",
				k.Line, k.Value, EnvAccessKeyID, EnvAccessKeySecret, EnvSecurityToken))
		case replacedKeys[child] != "":
			d.errs = append(d.errs, fmt.Errorf("line %d: %s is not a key: use %s", k.Line, child, replacedKeys[child]))
		case !known:
			where := path
			if where == "" {
				where = "the top level"
			}
			d.errs = append(d.errs, fmt.Errorf("line %d: field %q not found in %s%s", k.Line, k.Value, where, suggest(k.Value, fields)))
		case !d.once(seen, k, child):
		default:
			f := fields[k.Value]
			d.set[child] = true
			d.note(child, k.Line)
			d.value(val, v.Field(f.index), child, f.opts)
		}
	}
}

// note records the line of the key that names place.
func (d *decoder) note(place string, line int) {
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	d.lines[place] = line
}

// suggest names the known field closest to an unknown one, if any is close.
func suggest(name string, fields map[string]field) string {
	best, bestDist := "", 3
	for f := range fields {
		dist := distance(name, f)
		if strings.HasPrefix(f, name) || strings.HasPrefix(name, f) {
			dist = min(dist, 1)
		}
		if dist < bestDist || (dist == bestDist && f < best) {
			best, bestDist = f, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// leaf fills a single value: a string, number, bool, duration or threshold.
func (d *decoder) leaf(n *yaml.Node, v reflect.Value, path string, o options) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a single value, got %s", describe(n))
		return
	}
	s, ok := d.scalar(n, path, o)
	if !ok {
		return
	}
	var zero bool
	switch {
	case v.Type() == thresholdType:
		t, err := ParseThreshold(s)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	case v.Type() == collapseType:
		t := strings.TrimSpace(s)
		if t == "auto" {
			v.SetInt(int64(CollapseAuto))
			return
		}
		i, err := strconv.Atoi(t)
		if err != nil || i < 0 {
			d.errorf(n, path, "%q is not auto, 0 (off) or a number of files", s)
			return
		}
		v.SetInt(int64(i))
		return
	case v.Type() == durationType:
		dur, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			d.errorf(n, path, "%q is not a duration like \"2s\" or \"500ms\"", s)
			return
		}
		v.SetInt(int64(dur))
		zero = dur == 0
	case v.Kind() == reflect.String:
		v.SetString(s)
		return
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			d.errorf(n, path, "%q is not true or false", s)
			return
		}
		v.SetBool(b)
		return
	case v.CanInt():
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			d.errorf(n, path, "%q is not a whole number", s)
			return
		}
		v.SetInt(i)
		zero = i == 0
	case v.CanFloat():
		f, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			d.errorf(n, path, "%q is not a number", s)
			return
		}
		v.SetFloat(f)
		zero = f == 0
	default:
		d.errorf(n, path, "cannot hold a value (a %s field)", v.Type())
		return
	}
	// Zero would be taken for "unset" and replaced by the default; a
	// negative value is left to the checks.
	if o.positive && zero {
		d.errorf(n, path, "must be greater than 0, got %s", s)
	}
}

// scalar returns n's value with references expanded. It reports false when
// the value is unusable (an error was recorded) or when it is one reference
// to an unset variable in an optional field (the field keeps its default).
func (d *decoder) scalar(n *yaml.Node, path string, o options) (string, bool) {
	s := n.Value
	out, refs, missing, err := expand(s, d.getenv)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return "", false
	}
	whole := len(refs) == 1 && s == "${"+refs[0]+"}"
	if whole {
		if d.vars == nil {
			d.vars = map[string]string{}
		}
		d.vars[path] = refs[0]
	}
	if o.secret && s != "" && !whole {
		// Never repeat the value: it may be the secret itself.
		d.errorf(n, path, "give it as ${NAME} so it stays out of the file")
		return "", false
	}
	if len(missing) > 0 {
		if whole && !o.required {
			return "", false
		}
		d.errorf(n, path, "environment variable %s is not set", strings.Join(missing, ", "))
		return "", false
	}
	return out, true
}

// expand replaces each ${NAME} in s with getenv(NAME); $${ is a literal
// "${". It returns the names referred to and those whose value is empty.
func expand(s string, getenv func(string) string) (out string, names, missing []string, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", nil, nil, fmt.Errorf("%q has no closing }", s[i:])
			}
			name := s[i+2 : i+end]
			if !isEnvName(name) {
				return "", nil, nil, fmt.Errorf("%q is not a reference: a name is letters, digits and _ (write $${ for a literal ${)", s[i:i+end+1])
			}
			names = append(names, name)
			val := getenv(name)
			if val == "" {
				missing = append(missing, name)
			}
			b.WriteString(val)
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), names, missing, nil
}

func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// UnmarshalYAML reads a single string or a list of strings, so that the
// type also works with yaml/v3's own decoder.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Strings{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// UnmarshalYAML reads a template given as one URL string or as a mapping,
// so that the type also works with yaml/v3's own decoder.
func (t *Template) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = Template{URLs: Strings{n.Value}}
		return nil
	}
	type plain Template
	return n.Decode((*plain)(t))
}

// UnmarshalYAML reads "20%" or "500", so that the type also works with
// yaml/v3's own decoder.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseThreshold(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*t = v
	return nil
}
