package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/grpo-dev/grpo/core/template"
)

// Message is one chat turn given to ApplyChatTemplate.
type Message = template.Message

// ChatRequest is the full form of a chat rendering, as transformers' apply_chat_template
// takes it: messages and tools as JSON (key order is kept, since templates print tools with
// tojson), and extra template variables such as TRL's chat_template_kwargs
// ({"enable_thinking": false} for Qwen3).
type ChatRequest struct {
	// Messages is a JSON array of message objects: "role", "content", and whatever else the
	// template reads ("tool_calls", "reasoning_content", ...).
	Messages json.RawMessage
	// Tools is an optional JSON array of tool schemas; empty means none (Jinja sees None).
	Tools               json.RawMessage
	AddGenerationPrompt bool
	// Kwargs are extra variables (strings, numbers, bools, nil, []any, map[string]any).
	Kwargs map[string]any
}

// chatTemplate is the compiled chat_template of tokenizer_config.json. It runs on
// github.com/ardanlabs/jinja, a Jinja engine written for LLM chat templates (namespace(),
// slicing such as messages[::-1], loop.index0, string methods, raise_exception,
// strftime_now), which renders the Qwen3 and Llama-3 templates byte for byte like
// transformers' Jinja2 environment (trim_blocks and lstrip_blocks included; see chat_test.go).
type chatTemplate struct {
	tmpl *jinja.Template
	vars map[string]jinja.Value // bos_token, eos_token, ... as transformers passes them
}

// tojsonFilter matches a use of the tojson filter inside a Jinja tag.
var tojsonFilter = regexp.MustCompile(`\|\s*tojson\b`)

// pyToJSON is the name the template's tojson filter is renamed to. ardanlabs/jinja's own
// tojson sorts keys and escapes <, > and & when given indent= (Llama-3.1's tool prompt uses
// tojson(indent=4)), while transformers' tojson is json.dumps(ensure_ascii=False) keeping
// key order; so grpo renames the filter in the template and supplies Python's behaviour.
const pyToJSON = "grpo_tojson"

func newChatTemplate(cfg configJSON, t *Tokenizer) (*chatTemplate, error) {
	src := cfg.ChatTemplate.Template
	if src == "" {
		if len(cfg.ChatTemplate.Names) > 0 {
			return nil, fmt.Errorf("tokenizer_config.json: chat_template lists %q but no "+
				"\"default\" template", cfg.ChatTemplate.Names)
		}
		return nil, nil
	}
	tmpl, err := jinja.Compile(renameInTags(src))
	if err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: chat_template does not compile: %w", err)
	}
	c := &chatTemplate{tmpl: tmpl, vars: map[string]jinja.Value{}}
	for key, tok := range map[string]specialTokenJSON{"bos_token": cfg.BOSToken,
		"eos_token": cfg.EOSToken, "pad_token": cfg.PadToken, "unk_token": cfg.UnkToken} {
		if tok.Set {
			c.vars[key] = jinja.NewString(tok.Content)
		}
	}
	if len(cfg.AdditionalSpecialTokens) > 0 {
		items := make([]jinja.Value, len(cfg.AdditionalSpecialTokens))
		for i, tok := range cfg.AdditionalSpecialTokens {
			items[i] = jinja.NewString(tok.Content)
		}
		c.vars["additional_special_tokens"] = jinja.NewList(items)
	}
	c.vars[pyToJSON] = jinja.NewCallable(pyToJSON, toJSONFilter)
	return c, nil
}

// renameInTags renames the tojson filter inside {{ }} and {% %} tags only, so template text
// that happens to contain "| tojson" is left alone.
func renameInTags(src string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(src, "{")
		if i < 0 || i+1 >= len(src) {
			b.WriteString(src)
			return b.String()
		}
		var closer string
		switch src[i+1] {
		case '{':
			closer = "}}"
		case '%':
			closer = "%}"
		default:
			b.WriteString(src[:i+1])
			src = src[i+1:]
			continue
		}
		j := strings.Index(src[i+2:], closer)
		if j < 0 {
			b.WriteString(src)
			return b.String()
		}
		end := i + 2 + j + len(closer)
		b.WriteString(src[:i])
		b.WriteString(tojsonFilter.ReplaceAllString(src[i:end], "| "+pyToJSON))
		src = src[end:]
	}
}

// HasChatTemplate reports whether the tokenizer has a chat template.
func (t *Tokenizer) HasChatTemplate() bool { return t.chat != nil || t.chatErr != nil }

// ApplyChatTemplate renders messages with the model's chat template, as transformers'
// tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...). The
// result contains the template's special tokens as text; Encode turns them into their ids.
func (t *Tokenizer) ApplyChatTemplate(messages []Message, addGenerationPrompt bool) (string, error) {
	list := make([]jinja.Value, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		list[i] = d
	}
	return t.render(jinja.NewList(list), jinja.None(), addGenerationPrompt, nil)
}

// RenderChat renders a ChatRequest with the model's chat template.
func (t *Tokenizer) RenderChat(req ChatRequest) (string, error) {
	msgs, err := jsonToValue(req.Messages)
	if err != nil {
		return "", fmt.Errorf("chat template: messages: %w", err)
	}
	if !msgs.IsList() {
		return "", fmt.Errorf("chat template: messages must be a JSON array")
	}
	tools := jinja.None()
	if len(bytes.TrimSpace(req.Tools)) > 0 {
		if tools, err = jsonToValue(req.Tools); err != nil {
			return "", fmt.Errorf("chat template: tools: %w", err)
		}
	}
	return t.render(msgs, tools, req.AddGenerationPrompt, req.Kwargs)
}

func (t *Tokenizer) render(msgs, tools jinja.Value, agp bool, kwargs map[string]any) (string, error) {
	if t.chatErr != nil {
		return "", fmt.Errorf("%s: %w", t.path, t.chatErr)
	}
	if t.chat == nil {
		return "", fmt.Errorf("%s: the tokenizer has no chat_template (tokenizer_config.json or "+
			"chat_template.jinja); give the prompt as plain text or use an instruct model", t.path)
	}
	vars := make(map[string]jinja.Value, len(t.chat.vars)+len(kwargs)+4)
	for k, v := range t.chat.vars {
		vars[k] = v
	}
	for k, v := range kwargs {
		vars[k] = jinja.FromGoValue(v)
	}
	vars["messages"] = msgs
	vars["tools"] = tools
	vars["documents"] = jinja.None()
	vars["add_generation_prompt"] = jinja.NewBool(agp)
	out, err := t.chat.tmpl.RenderValues(vars)
	if err != nil {
		return "", fmt.Errorf("chat template of %s: %w", t.path, err)
	}
	return out, nil
}

// jsonToValue converts JSON to template values, keeping object key order (Python dicts do).
func jsonToValue(raw json.RawMessage) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return jinja.Value{}, err
	}
	if dec.More() {
		return jinja.Value{}, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			var items []jinja.Value
			for dec.More() {
				item, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, item)
			}
			_, err := dec.Token()
			return jinja.NewList(items), err
		}
		d := jinja.NewDict()
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return jinja.Value{}, err
			}
			val, err := decodeValue(dec)
			if err != nil {
				return jinja.Value{}, err
			}
			d.AsDict().Set(k.(string), val)
		}
		_, err := dec.Token()
		return d, err
	case string:
		return jinja.NewString(v), nil
	case json.Number:
		// Python's json.loads: integers stay int, anything with . or e is a float.
		if !strings.ContainsAny(string(v), ".eE") {
			if i, err := v.Int64(); err == nil {
				return jinja.NewInt(i), nil
			}
		}
		f, err := v.Float64()
		return jinja.NewFloat(f), err
	case bool:
		return jinja.NewBool(v), nil
	case nil:
		return jinja.None(), nil
	}
	return jinja.Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}
