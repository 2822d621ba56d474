// Command template_engine substitutes Argo Workflows template tags the way the
// workflow controller does (util/template in argoproj/argo-workflows): on the
// JSON-marshalled text of a template, with fasttemplate finding "{{...}}" tags,
// simple tags looked up in a flat map of values, and expression tags "{{=...}}"
// compiled and run by the expr engine with sprig's functions under "sprig".
//
// It reads one JSON request per line on stdin and writes one JSON answer per line:
//
//	{"text": "...", "values": {"inputs.parameters.x": "v", ...}, "allowUnresolved": false}
//	-> {"text": "..."} or {"error": "..."}
//
//	{"expression": "...", "values": {...}}   (a bare expression, e.g. a `when`)
//	-> {"value": <any>} or {"error": "..."}
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/sprig"
	"github.com/antonmedv/expr"
	"github.com/valyala/fasttemplate"
)

type request struct {
	Text            *string                `json:"text"`
	Expression      *string                `json:"expression"`
	Values          map[string]interface{} `json:"values"`
	AllowUnresolved bool                   `json:"allowUnresolved"`
}

type answer struct {
	Text  *string     `json:"text,omitempty"`
	Value interface{} `json:"value,omitempty"`
	Error string      `json:"error,omitempty"`
}

var sprigFunctions = func() map[string]interface{} {
	functions := map[string]interface{}{}
	for name, function := range sprig.GenericFuncMap() {
		functions[name] = function
	}
	// Argo removes the functions that read the controller's environment.
	delete(functions, "env")
	delete(functions, "expandenv")
	return functions
}()

// nest turns {"a.b": 1, "a.c": 2} into {"a": {"b": 1, "c": 2}}; where a key is
// also the parent of another ("a" and "a.b"), the less specific one is dropped.
func nest(flat map[string]interface{}) map[string]interface{} {
	keys := make([]string, 0, len(flat))
	for key := range flat {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	root := map[string]interface{}{}
	for i, key := range keys {
		if i+1 < len(keys) && strings.HasPrefix(keys[i+1], key+".") {
			continue
		}
		parts := strings.Split(key, ".")
		node := root
		for _, part := range parts[:len(parts)-1] {
			child, ok := node[part].(map[string]interface{})
			if !ok {
				child = map[string]interface{}{}
				node[part] = child
			}
			node = child
		}
		node[parts[len(parts)-1]] = flat[key]
	}
	return root
}

func environment(values map[string]interface{}) map[string]interface{} {
	env := nest(values)
	env["sprig"] = sprigFunctions
	env["toJson"] = func(v interface{}) string {
		out, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return string(out)
	}
	env["asInt"] = asInt
	env["asFloat"] = asFloat
	return env
}

// asInt and asFloat are Argo's aliases of expr's int() and float() builtins.
func asInt(value interface{}) int {
	switch v := value.(type) {
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			panic(fmt.Sprintf("invalid operation: int(%q)", v))
		}
		return n
	case float64:
		return int(v)
	case int:
		return v
	}
	panic(fmt.Sprintf("invalid operation: int(%T)", value))
}

func asFloat(value interface{}) float64 {
	switch v := value.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			panic(fmt.Sprintf("invalid operation: float(%q)", v))
		}
		return f
	case float64:
		return v
	case int:
		return float64(v)
	}
	panic(fmt.Sprintf("invalid operation: float(%T)", value))
}

// jsonInner escapes s as a JSON string body (the text lives inside a JSON string).
func jsonInner(s string) string {
	quoted := strconv.Quote(s)
	return quoted[1 : len(quoted)-1]
}

func unfixed(s string) string {
	// Go's JSON marshalling escapes <, > and &; Argo undoes that before parsing.
	s = strings.ReplaceAll(s, "\\u003c", "<")
	s = strings.ReplaceAll(s, "\\u003e", ">")
	return strings.ReplaceAll(s, "\\u0026", "&")
}

func evaluate(expression string, values map[string]interface{}) (interface{}, error) {
	program, err := expr.Compile(expression, expr.Env(environment(values)))
	if err != nil {
		return nil, err
	}
	return expr.Run(program, environment(values))
}

func substitute(text string, values map[string]interface{}, allowUnresolved bool) (string, error) {
	template, err := fasttemplate.NewTemplate(text, "{{", "}}")
	if err != nil {
		return "", err
	}
	return template.ExecuteFuncStringWithErr(func(w io.Writer, tag string) (int, error) {
		if strings.HasPrefix(tag, "=") {
			return replaceExpression(w, unfixed(tag[1:]), values, allowUnresolved)
		}
		value, ok := values[strings.TrimSpace(tag)]
		if !ok {
			if allowUnresolved {
				return fmt.Fprintf(w, "{{%s}}", tag)
			}
			return 0, fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		text, isText := value.(string)
		if !isText {
			return 0, fmt.Errorf("failed to resolve {{%s}} to string", tag)
		}
		return w.Write([]byte(jsonInner(text)))
	})
}

func replaceExpression(w io.Writer, escaped string, values map[string]interface{}, allowUnresolved bool) (int, error) {
	var expression string
	if err := json.Unmarshal([]byte(`"`+escaped+`"`), &expression); err != nil {
		if allowUnresolved {
			return fmt.Fprintf(w, "{{=%s}}", escaped)
		}
		return 0, fmt.Errorf("failed to unmarshall JSON expression: %v", err)
	}
	result, err := evaluate(expression, values)
	if err != nil || result == nil {
		if allowUnresolved {
			return fmt.Fprintf(w, "{{=%s}}", escaped)
		}
		if err == nil {
			err = fmt.Errorf("expression %q evaluated to nil", expression)
		}
		return 0, fmt.Errorf("failed to evaluate expression: %v", err)
	}
	marshalled, err := json.Marshal(result)
	if err != nil {
		return 0, fmt.Errorf("failed to marshal evaluated expression: %v", err)
	}
	if n := len(marshalled); n > 1 && marshalled[0] == '"' && marshalled[n-1] == '"' {
		return w.Write(marshalled[1 : n-1])
	}
	return w.Write([]byte(jsonInner(string(marshalled))))
}

func handle(line []byte) answer {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{Error: "bad request: " + err.Error()}
	}
	if req.Values == nil {
		req.Values = map[string]interface{}{}
	}
	switch {
	case req.Text != nil:
		text, err := substitute(*req.Text, req.Values, req.AllowUnresolved)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Text: &text}
	case req.Expression != nil:
		value, err := evaluate(*req.Expression, req.Values)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Value: value}
	}
	return answer{Error: "bad request: neither text nor expression"}
}

func main() {
	reader := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := json.NewEncoder(os.Stdout)
	for {
		line, err := reader.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			reply := func() (a answer) {
				defer func() {
					if r := recover(); r != nil {
						a = answer{Error: fmt.Sprint(r)}
					}
				}()
				return handle(line)
			}()
			if encodeErr := out.Encode(reply); encodeErr != nil {
				os.Exit(1)
			}
		}
		if err != nil {
			return
		}
	}
}
