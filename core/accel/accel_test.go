package accel

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
)

func TestSharedBackendRunsAGraph(t *testing.T) {
	t.Setenv(EnvVar, "go")
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	out := MustExecOnce(b, func(x *Node) *Node { return ReduceAllSum(Mul(x, x)) }, []float32{1, 2, 3})
	if got := out.Value().(float32); got != 14 {
		t.Fatalf("sum of squares = %v, want 14", got)
	}
}

func TestUnknownBackendErrorNamesTheVariable(t *testing.T) {
	_, err := New("nosuchbackend")
	if err == nil {
		t.Fatal("expected an error for an unknown backend")
	}
	if got := err.Error(); !contains(got, EnvVar) {
		t.Fatalf("error %q does not mention %s", got, EnvVar)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
