package proc

import (
	"fmt"
	"slices"
	"testing"
)

func TestLineRingKeepsLastLinesInOrder(t *testing.T) {
	r := newLineRing(3)
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(r, "line %d\n", i)
	}
	r.Write([]byte("par"))
	r.Write([]byte("tial"))
	if got, want := r.Last(), []string{"line 3", "line 4", "line 5", "partial"}; !slices.Equal(got, want) {
		t.Errorf("Last() = %q, want %q", got, want)
	}
	r.Write([]byte(" done\n" + `{"@level":"error","@message":"boom","code":5,"@timestamp":"x"}` + "\n"))
	if got, want := r.Last(), []string{"line 5", "partial done", "error: boom code=5"}; !slices.Equal(got, want) {
		t.Errorf("Last() = %q, want %q", got, want)
	}
}
