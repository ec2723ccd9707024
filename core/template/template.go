// Package template defines what the core knows about prompt templates: an interface that turns
// named variables (and the dataset row) into a prompt. Concrete templates are plugins or
// built-ins; the trainer sees only this interface.
package template

import "context"

// Message is one chat turn of a rendered prompt.
type Message struct {
	Role    string
	Content string
}

// Rendered is a template's output: a plain prompt text, or chat messages that the trainer
// renders with the model tokenizer's chat template. Exactly one of them is set.
type Rendered struct {
	Text     string
	Messages []Message
}

// Template renders prompts.
type Template interface {
	Name() string
	// Render fills the template with vars (e.g. "question", "approach", "teaching"); row is the
	// dataset row the prompt is built for.
	Render(ctx context.Context, vars map[string]string, row map[string]any) (Rendered, error)
	Close() error
}
