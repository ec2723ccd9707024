package wasm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	info, err := Inspect(context.Background(), fixtures.Path(t, "sentinel"), testOpts(t))
	if err != nil || info.OpenErr != nil {
		t.Fatal(err, info.OpenErr)
	}
	if info.ABI != "grpo-wasm" || info.Describe.Name != "sentinel" || !info.Reward || info.Render {
		t.Errorf("info = %+v", info)
	}
	var sigs []string
	for _, e := range info.Exports {
		sigs = append(sigs, e.Name+e.Signature)
	}
	if s := strings.Join(sigs, " "); !strings.Contains(s, "grpo_reward(i32, i32) -> i64") || !strings.Contains(s, "grpo_abi_version() -> i32") {
		t.Errorf("exports = %s", s)
	}
	info, err = Inspect(context.Background(), fixtures.Path(t, "abi2"), testOpts(t))
	if err != nil || !errors.Is(info.OpenErr, ErrABIVersion) || len(info.Exports) != 4 {
		t.Errorf("abi2: %v %+v", err, info)
	}
}
