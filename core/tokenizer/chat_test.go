package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chatFixture is testdata/chat_templates.json: transformers' apply_chat_template(messages,
// tokenize=False, add_generation_prompt=...) with each real tokenizer's own template.
type chatFixture struct {
	TransformersVersion string `json:"transformers_version"`
	Cases               []struct {
		Tokenizer           string          `json:"tokenizer"`
		Messages            json.RawMessage `json:"messages"`
		AddGenerationPrompt bool            `json:"add_generation_prompt"`
		Rendered            string          `json:"rendered"`
	} `json:"cases"`
}

// TestChatTemplateHFParity renders every fixture conversation through both entry points
// (RenderChat with the JSON messages, ApplyChatTemplate with role/content messages).
func TestChatTemplateHFParity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "chat_templates.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx chatFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) == 0 {
		t.Fatal("no chat template cases")
	}
	counts := map[string]int{}
	for i, c := range fx.Cases {
		tk := realTokenizer(t, c.Tokenizer)
		counts[c.Tokenizer]++
		got, err := tk.RenderChat(ChatRequest{Messages: c.Messages, AddGenerationPrompt: c.AddGenerationPrompt})
		if err != nil {
			t.Errorf("case %d (%s): %v", i, c.Tokenizer, err)
			continue
		}
		if got != c.Rendered {
			t.Errorf("case %d (%s) RenderChat:\n got  %q\n want %q", i, c.Tokenizer, got, c.Rendered)
		}
		var msgs []Message
		if err := json.Unmarshal(c.Messages, &msgs); err != nil {
			t.Fatal(err)
		}
		got2, err := tk.ApplyChatTemplate(msgs, c.AddGenerationPrompt)
		if err != nil || got2 != c.Rendered {
			t.Errorf("case %d (%s) ApplyChatTemplate: %v\n got  %q\n want %q", i, c.Tokenizer, err, got2, c.Rendered)
		}
	}
	if counts["qwen3"] == 0 || counts["llama3"] == 0 {
		t.Errorf("fixture lacks a tokenizer: %v", counts)
	}
	t.Logf("transformers %s: %v cases", fx.TransformersVersion, counts)
}

// TestChatTemplateQwen3Features exercises the parts of Qwen3's template the fixture's plain
// conversations do not reach, against renderings made with Python's Jinja2 in transformers'
// environment (trim_blocks, lstrip_blocks, tojson = json.dumps(ensure_ascii=False)): tools
// (key order kept), tool calls with dict arguments, tool responses, enable_thinking=False.
func TestChatTemplateQwen3Features(t *testing.T) {
	tk := realTokenizer(t, "qwen3")
	tools := `[{"type":"function","function":{"name":"get_weather","description":"Weather — «now»","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	msgs := `[{"role":"user","content":"Weather in Paris?"},
		{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris","unit":"c"}}}]},
		{"role":"tool","content":"{\"temp\": 21}"},{"role":"tool","content":"sunny"},
		{"role":"assistant","content":"It is 21°C and sunny."}]`
	got, err := tk.RenderChat(ChatRequest{Messages: json.RawMessage(msgs), Tools: json.RawMessage(tools),
		AddGenerationPrompt: true, Kwargs: map[string]any{"enable_thinking": false}})
	if err != nil {
		t.Fatal(err)
	}
	// Rendered by Jinja2 3.1.6 as transformers configures it (see the test comment).
	want := "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
		`{"type": "function", "function": {"name": "get_weather", "description": "Weather — «now»", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}` +
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n" +
		`{"name": <function-name>, "arguments": <args-json-object>}` + "\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n" +
		`{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}` + "\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n" +
		"<|im_start|>assistant\n<think>\n\n</think>\n\nIt is 21°C and sunny.<|im_end|>\n" +
		"<|im_start|>assistant\n<think>\n\n</think>\n\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestToJSONPython checks the tojson filter against json.dumps outputs (Python 3.11).
func TestToJSONPython(t *testing.T) {
	tk := newTestTokenizer(t, map[string]any{"chat_template": `{{ messages[0].x | tojson }}|{{ messages[0].x | tojson(indent=2) }}|{{ messages[0].x | tojson(ensure_ascii=True, sort_keys=True) }}|{{ messages[0].x | tojson(separators=(',', ':')) }}`})
	msgs := `[{"x": {"b": [1, 2.0, 1e-05, 1e16, 123456789.125, -0.5, true, null], "a": "q\"<&>\u00e9\ud83d\ude00\n\u0001", "e": {}, "l": []}}]`
	got, err := tk.RenderChat(ChatRequest{Messages: json.RawMessage(msgs)})
	if err != nil {
		t.Fatal(err)
	}
	// python3 -c 'import json; x=...; print(json.dumps(x, ensure_ascii=False)) ...'
	want := strings.Join([]string{
		`{"b": [1, 2.0, 1e-05, 1e+16, 123456789.125, -0.5, true, null], "a": "q\"<&>é😀\n\u0001", "e": {}, "l": []}`,
		"{\n  \"b\": [\n    1,\n    2.0,\n    1e-05,\n    1e+16,\n    123456789.125,\n    -0.5,\n    true,\n    null\n  ],\n  \"a\": \"q\\\"<&>é😀\\n\\u0001\",\n  \"e\": {},\n  \"l\": []\n}",
		`{"a": "q\"<&>\u00e9\ud83d\ude00\n\u0001", "b": [1, 2.0, 1e-05, 1e+16, 123456789.125, -0.5, true, null], "e": {}, "l": []}`,
		`{"b":[1,2.0,1e-05,1e+16,123456789.125,-0.5,true,null],"a":"q\"<&>é😀\n\u0001","e":{},"l":[]}`,
	}, "|")
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestChatTemplateErrors(t *testing.T) {
	tk := newTestTokenizer(t, nil)
	if tk.HasChatTemplate() {
		t.Fatal("HasChatTemplate without a template")
	}
	if _, err := tk.ApplyChatTemplate([]Message{{Role: "user", Content: "hi"}}, true); err == nil ||
		!strings.Contains(err.Error(), "no chat_template") {
		t.Errorf("want a no-template error, got %v", err)
	}
	tk = newTestTokenizer(t, map[string]any{"chat_template": `{% if messages|length > 1 %}{{ raise_exception('only one message') }}{% endif %}{{ messages[0].content }}`})
	if _, err := tk.ApplyChatTemplate([]Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}, false); err == nil ||
		!strings.Contains(err.Error(), "only one message") {
		t.Errorf("want the template's exception, got %v", err)
	}
	tk = newTestTokenizer(t, map[string]any{"chat_template": `{% for m in messages %}{{ m.content }`})
	if !tk.HasChatTemplate() {
		t.Fatal("a broken template still counts as present")
	}
	if _, err := tk.ApplyChatTemplate(nil, false); err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Errorf("want a compile error, got %v", err)
	}
}

// TestChatTemplateJinjaSemantics renders a template written like Llama-3.1's (block tags on
// their own indented lines, tojson(indent=4) for tools, namespace, slicing, filters) and
// compares with Python Jinja2 3.1.6 in transformers' environment (trim_blocks=True,
// lstrip_blocks=True, tojson = json.dumps(ensure_ascii=False)).
func TestChatTemplateJinjaSemantics(t *testing.T) {
	tmpl := "{{- bos_token }}\n{%- set ns = namespace(n=0) %}\n{% for m in messages %}\n" +
		"    {% if m.role == 'system' %}\nSystem: {{ m.content | trim }}\n    {% else %}\n" +
		"{{ m.role | upper }}: {{ m.content }}\n    {% endif %}\n    {% set ns.n = ns.n + 1 %}\n" +
		"{% endfor %}\n{% if tools is not none %}\nTools:\n{{ tools | tojson(indent=4) }}\n{% endif %}\n" +
		"count={{ ns.n }} last={{ messages[-1].content[:3] }} rev={{ (messages | map(attribute='role') | list)[::-1] | join(',') }}\n" +
		"{% if add_generation_prompt %}ASSISTANT:{% endif %}\n"
	tk := newTestTokenizer(t, map[string]any{"chat_template": tmpl, "bos_token": "<|endoftext|>"})
	got, err := tk.RenderChat(ChatRequest{
		Messages:            json.RawMessage(`[{"role":"system","content":"  Be brief.  "},{"role":"user","content":"Hello there"}]`),
		Tools:               json.RawMessage(`[{"name":"f","parameters":{"z":1,"a":[1,2]}}]`),
		AddGenerationPrompt: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|endoftext|>System: Be brief.\nUSER: Hello there\nTools:\n[\n    {\n        \"name\": \"f\",\n" +
		"        \"parameters\": {\n            \"z\": 1,\n            \"a\": [\n                1,\n" +
		"                2\n            ]\n        }\n    }\n]\ncount=2 last=Hel rev=user,system\nASSISTANT:"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// chat_template.jinja beside the config (transformers ≥ 4.49 writes it) wins over the
// config's chat_template; a list of named templates uses "default".
func TestChatTemplateSources(t *testing.T) {
	dir := tinyDir(t, nil, map[string]any{"chat_template": "config:{{ messages[0].content }}"}, nil)
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte("file:{{ messages[0].content }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "x"}}
	if got, err := tk.ApplyChatTemplate(msgs, false); err != nil || got != "file:x" {
		t.Errorf("with chat_template.jinja: %q, %v", got, err)
	}
	tk = newTestTokenizer(t, map[string]any{"chat_template": []any{
		map[string]any{"name": "tool_use", "template": "tools"},
		map[string]any{"name": "default", "template": "default:{{ messages[0].content }}"},
	}})
	if got, err := tk.ApplyChatTemplate(msgs, false); err != nil || got != "default:x" {
		t.Errorf("named templates: %q, %v", got, err)
	}
	tk, err = Load(tinyDir(t, nil, map[string]any{"chat_template": []any{
		map[string]any{"name": "tool_use", "template": "tools"}}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.ApplyChatTemplate(msgs, false); err == nil || !strings.Contains(err.Error(), `no "default"`) {
		t.Errorf("named templates without default: %v", err)
	}
}
