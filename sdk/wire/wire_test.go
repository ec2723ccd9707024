package wire

import (
	"encoding/json"
	"testing"
)

func TestMarshalKeepsTags(t *testing.T) {
	b, err := Marshal(Item{Completion: "<think>a & b</think>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"prompt":"","completion":"<think>a & b</think>"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back Item
	if err := json.Unmarshal(b, &back); err != nil || back.Completion != "<think>a & b</think>" {
		t.Errorf("round trip: %+v %v", back, err)
	}
}
