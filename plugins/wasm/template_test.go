package wasm

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/grpo-dev/grpo/core/template"
)

func TestTemplate(t *testing.T) {
	for _, mode := range []string{SandboxInProcess, SandboxProcess} {
		t.Run(mode, func(t *testing.T) {
			opts := testOpts(t)
			if mode == SandboxProcess {
				opts = processOpts(t)
			}
			testTemplate(t, opts)
		})
	}
}

func testTemplate(t *testing.T, opts Options) {
	opts.Settings = map[string]any{"system": "Be brief."}
	tp, err := OpenTemplate(context.Background(), fixtures.Path(t, "template"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	if tp.Name() != "qa-chat" {
		t.Errorf("name = %q", tp.Name())
	}
	got, err := tp.Render(context.Background(), map[string]string{"question": "2+2?"}, map[string]any{"id": "r7"})
	if err != nil {
		t.Fatal(err)
	}
	want := template.Rendered{Messages: []template.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "2+2? (row r7)"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("render = %+v, want %+v", got, want)
	}
	_, err = tp.Render(context.Background(), map[string]string{}, nil)
	if !errors.Is(err, ErrPluginError) {
		t.Errorf("missing variable: err = %v, want ErrPluginError", err)
	}
}

func TestWrongKind(t *testing.T) {
	if _, err := OpenReward(context.Background(), fixtures.Path(t, "template"), testOpts(t)); !errors.Is(err, ErrWrongKind) {
		t.Errorf("template opened as reward: err = %v", err)
	}
	if _, err := OpenTemplate(context.Background(), fixtures.Path(t, "sentinel"), testOpts(t)); !errors.Is(err, ErrWrongKind) {
		t.Errorf("reward opened as template: err = %v", err)
	}
}
