// Package reference is a plain-Go float64 implementation of the Qwen2/Llama forward pass,
// written from transformers' modeling_qwen2.py / modeling_llama.py with explicit loops and no
// GoMLX. Tests use it as an independent reference for core/model's graphs; it is slow and only
// meant for tiny models.
package reference

import (
	"math"
	"strconv"

	"github.com/grpo-dev/grpo/core/model/hf"
)

// Weights maps Hugging Face tensor names to row-major values.
type Weights map[string][]float64

// Logits returns the logits [b][t][vocab] for every position of a padded batch. Position t of row
// b attends to positions s ≤ t with mask[b][s] = 1; rows at padded positions (mask 0) are
// computed attending to themselves only and must not be compared.
func Logits(c *hf.Config, w Weights, tokens, positions, mask [][]int32) [][][]float64 {
	d, hd := c.HiddenSize, c.HeadDim
	nh, nkv := c.NumAttentionHeads, c.NumKeyValueHeads
	inv := invFreq(c)
	out := make([][][]float64, len(tokens))
	for b := range tokens {
		T := len(tokens[b])
		x := make([][]float64, T)
		for t := range T {
			x[t] = append([]float64(nil), w["model.embed_tokens.weight"][int(tokens[b][t])*d:][:d]...)
		}
		for l := range c.NumHiddenLayers {
			p := "model.layers." + strconv.Itoa(l) + "."
			n := rmsNorm(x, w[p+"input_layernorm.weight"], c.RMSNormEps)
			q := linear(n, w[p+"self_attn.q_proj.weight"], w[p+"self_attn.q_proj.bias"], nh*hd)
			k := linear(n, w[p+"self_attn.k_proj.weight"], w[p+"self_attn.k_proj.bias"], nkv*hd)
			v := linear(n, w[p+"self_attn.v_proj.weight"], w[p+"self_attn.v_proj.bias"], nkv*hd)
			for t := range T {
				rope(q[t], nh, hd, float64(positions[b][t]), inv)
				rope(k[t], nkv, hd, float64(positions[b][t]), inv)
			}
			attn := make([][]float64, T)
			for t := range T {
				attn[t] = make([]float64, nh*hd)
				for h := range nh {
					kh := h / (nh / nkv) // GQA: query head h reads KV head h/group
					var scores []float64
					var idx []int
					for s := 0; s <= t; s++ {
						if mask[b][s] == 0 && s != t {
							continue
						}
						dot := 0.0
						for i := range hd {
							dot += q[t][h*hd+i] * k[s][kh*hd+i]
						}
						scores = append(scores, dot/math.Sqrt(float64(hd)))
						idx = append(idx, s)
					}
					probs := softmax(scores)
					for j, s := range idx {
						for i := range hd {
							attn[t][h*hd+i] += probs[j] * v[s][kh*hd+i]
						}
					}
				}
			}
			o := linear(attn, w[p+"self_attn.o_proj.weight"], w[p+"self_attn.o_proj.bias"], d)
			for t := range T {
				for i := range d {
					x[t][i] += o[t][i]
				}
			}
			n = rmsNorm(x, w[p+"post_attention_layernorm.weight"], c.RMSNormEps)
			gate := linear(n, w[p+"mlp.gate_proj.weight"], w[p+"mlp.gate_proj.bias"], c.IntermediateSize)
			up := linear(n, w[p+"mlp.up_proj.weight"], w[p+"mlp.up_proj.bias"], c.IntermediateSize)
			for t := range T {
				for i := range gate[t] {
					g := gate[t][i]
					gate[t][i] = g / (1 + math.Exp(-g)) * up[t][i]
				}
			}
			down := linear(gate, w[p+"mlp.down_proj.weight"], w[p+"mlp.down_proj.bias"], d)
			for t := range T {
				for i := range d {
					x[t][i] += down[t][i]
				}
			}
		}
		x = rmsNorm(x, w["model.norm.weight"], c.RMSNormEps)
		head := w["lm_head.weight"]
		if c.TieWordEmbeddings {
			head = w["model.embed_tokens.weight"]
		}
		out[b] = linear(x, head, nil, c.VocabSize)
	}
	return out
}

// invFreq implements the default, linear and llama3 rope types of modeling_rope_utils.py.
func invFreq(c *hf.Config) []float64 {
	r := c.Rope
	out := make([]float64, c.HeadDim/2)
	for i := range out {
		f := 1 / math.Pow(r.Theta, float64(2*i)/float64(c.HeadDim))
		switch r.Type {
		case "linear":
			f /= r.Factor
		case "llama3":
			old := float64(r.OriginalMaxPositionEmbeddings)
			wl := 2 * math.Pi / f
			if wl > old/r.LowFreqFactor {
				f /= r.Factor
			} else if wl >= old/r.HighFreqFactor {
				s := (old/wl - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				f = (1-s)*f/r.Factor + s*f
			}
		}
		out[i] = f
	}
	return out
}

// rope applies q·cos + rotate_half(q)·sin per head, rotate_half(x) = (−x2, x1).
func rope(x []float64, heads, hd int, position float64, inv []float64) {
	half := hd / 2
	for h := range heads {
		v := x[h*hd : (h+1)*hd]
		for i := range half {
			cos, sin := math.Cos(position*inv[i]), math.Sin(position*inv[i])
			a, b := v[i], v[i+half]
			v[i], v[i+half] = a*cos-b*sin, b*cos+a*sin
		}
	}
}

func rmsNorm(x [][]float64, scale []float64, eps float64) [][]float64 {
	out := make([][]float64, len(x))
	for t, row := range x {
		ms := 0.0
		for _, v := range row {
			ms += v * v
		}
		r := 1 / math.Sqrt(ms/float64(len(row))+eps)
		out[t] = make([]float64, len(row))
		for i, v := range row {
			out[t][i] = v * r * scale[i]
		}
	}
	return out
}

// linear is x·Wᵀ + bias with W [out, in] row-major.
func linear(x [][]float64, w, bias []float64, outDim int) [][]float64 {
	out := make([][]float64, len(x))
	for t, row := range x {
		in := len(row)
		out[t] = make([]float64, outDim)
		for o := range outDim {
			s := 0.0
			for i, v := range row {
				s += v * w[o*in+i]
			}
			if bias != nil {
				s += bias[o]
			}
			out[t][o] = s
		}
	}
	return out
}

func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
