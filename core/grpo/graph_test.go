package grpo

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/grpo-dev/grpo/core/accel"
)

// runGraph builds fn over the given input tensors on the test backend (GOMLX_BACKEND, default the
// pure-Go backend) and returns its outputs.
func runGraph(t *testing.T, fn func(g *graph.Graph, in []*graph.Node) []*graph.Node, args ...any) []*tensors.Tensor {
	t.Helper()
	backend, err := accel.Shared()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := graph.NewExec(backend, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runGraphNoFatal is runGraph returning the error (or panicking inside exceptions.TryCatch).
func runGraphNoFatal(fn func(g *graph.Graph, in []*graph.Node) []*graph.Node, args ...any) error {
	backend, err := accel.Shared()
	if err != nil {
		return err
	}
	exec, err := graph.NewExec(backend, fn)
	if err != nil {
		return err
	}
	defer exec.Finalize()
	_, err = exec.Call(args...)
	return err
}

func f64Tensor(data []float64, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), data...), dims...)
}

func i32Tensor(data []int32, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]int32(nil), data...), dims...)
}

func f64Flat(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	data, err := tensors.CopyFlatData[float64](x)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func f32Flat(t *testing.T, x *tensors.Tensor) []float32 {
	t.Helper()
	data, err := tensors.CopyFlatData[float32](x)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
