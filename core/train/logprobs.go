package train

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// tokenLogProbs returns log p(targets) [B,T] in float32 from hidden states [B,T,D] and the
// output projection [V,D]: z = h·Wᵀ, log p = z[y] − logsumexp(z).
//
// TODO(core/grpo): this materialises the [B,T,V] logits; replace it with
// grpo.TokenLogProbs(hidden, proj, targets, grpo.LogProbsConfig{Temperature: 1}) (chunked,
// never holding the whole logits) as soon as core/grpo is on main.
func tokenLogProbs(hidden, proj, targets *Node) *Node {
	if hidden.DType() != dtypes.Float32 {
		hidden = ConvertDType(hidden, dtypes.Float32)
	}
	if proj.DType() != dtypes.Float32 {
		proj = ConvertDType(proj, dtypes.Float32)
	}
	logp := LogSoftmax(Einsum("btd,vd->btv", hidden, proj))
	return ReduceSum(Mul(logp, OneHot(targets, proj.Shape().Dim(0), dtypes.Float32)), -1)
}
