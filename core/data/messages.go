package data

import (
	"fmt"

	"github.com/grpo-dev/grpo/core/template"
)

// ChatFormatter renders chat messages to text with the model tokenizer's chat template (built by
// the tokenizer package). addGenerationPrompt appends the assistant header, as in transformers'
// apply_chat_template(add_generation_prompt=True).
type ChatFormatter func(messages []template.Message, addGenerationPrompt bool) (string, error)

// roleAliases maps ShareGPT-style roles to chat-template roles.
var roleAliases = map[string]string{"human": "user", "gpt": "assistant"}

// toMessages reads a chat value: a list of objects with "role"/"content" (OpenAI, TRL) or
// "from"/"value" (ShareGPT, Bespoke-Stratos "conversations"); "human"/"gpt" become
// "user"/"assistant".
func toMessages(v any) ([]template.Message, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of chat messages, got %s", describeValue(v))
	}
	out := make([]template.Message, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("message %d is %s, want an object with role and content", i, describeValue(e))
		}
		role, rok := m["role"].(string)
		content, cok := m["content"].(string)
		if !rok && !cok {
			role, rok = m["from"].(string)
			content, cok = m["value"].(string)
		}
		if !rok || !cok {
			return nil, fmt.Errorf("message %d needs string fields role and content (or from and value)", i)
		}
		if r, ok := roleAliases[role]; ok {
			role = r
		}
		out = append(out, template.Message{Role: role, Content: content})
	}
	return out, nil
}
