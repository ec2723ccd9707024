package proc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"google.golang.org/grpc"
)

// Template is a template plugin process; it implements template.Template.
type Template struct{ h *host }

var _ template.Template = (*Template)(nil)

// OpenTemplate starts the template plugin executable at path and sends it settings.
func OpenTemplate(ctx context.Context, path string, settings map[string]any, opts Options) (*Template, error) {
	h, err := open(ctx, path, wire.KindTemplate, settings, opts.withDefaults(defaultTimeout))
	if err != nil {
		return nil, err
	}
	return &Template{h: h}, nil
}

// Name is the plugin's Describe name, or its file name without extension.
func (t *Template) Name() string { return t.h.name() }

// Describe returns what the plugin said about itself at start-up.
func (t *Template) Describe() wire.Describe { return t.h.describe }

// Render sends a wire.RenderRequest and checks that exactly one of prompt text and messages
// came back.
func (t *Template) Render(ctx context.Context, vars map[string]string, row map[string]any) (template.Rendered, error) {
	in, err := json.Marshal(wire.RenderRequest{ABI: wire.ABIVersion, Vars: vars, Row: row})
	if err != nil {
		return template.Rendered{}, t.h.errorf(nil, "render", fmt.Errorf("encoding the request: %w", err))
	}
	out, err := t.h.call(ctx, "render", in, func(ctx context.Context, c *grpc.ClientConn, in *pluginpb.JSON) (*pluginpb.JSON, error) {
		return pluginpb.NewTemplateClient(c).Render(ctx, in)
	})
	if err != nil {
		return template.Rendered{}, err
	}
	var res wire.RenderResult
	if err := json.Unmarshal(out, &res); err != nil {
		return template.Rendered{}, t.h.errorf(nil, "render", fmt.Errorf("%w: reply is not a wire.RenderResult JSON: %w", ErrProtocol, err))
	}
	if res.Error != "" {
		return template.Rendered{}, t.h.errorf(nil, "render", fmt.Errorf("%w: %s", ErrPlugin, res.Error))
	}
	if (res.Prompt == "") == (len(res.Messages) == 0) {
		return template.Rendered{}, t.h.errorf(nil, "render", fmt.Errorf("%w: a render must return "+
			"exactly one of prompt and messages (got prompt of %d bytes and %d messages)",
			ErrProtocol, len(res.Prompt), len(res.Messages)))
	}
	r := template.Rendered{Text: res.Prompt}
	for _, m := range res.Messages {
		r.Messages = append(r.Messages, template.Message{Role: m.Role, Content: m.Content})
	}
	return r, nil
}

// Close stops the plugin process.
func (t *Template) Close() error { return t.h.close() }
