// Command extism is an Extism Go-PDK reward (github.com/extism/go-pdk, pinned in go.mod), built
// with standard Go for wasip1: the test checks that grpo's Extism adapter runs PDK plugins
// unchanged. Reward: 1 if the completion contains the row's answer, else 0; the config key
// "bonus" is added to every reward; a var counts calls.
package main

import (
	"strconv"
	"strings"

	"github.com/extism/go-pdk"
)

type item struct {
	Completion string         `json:"completion"`
	Metadata   map[string]any `json:"metadata"`
}

type batch struct {
	Items []item `json:"items"`
}

type result struct {
	Rewards []*float64 `json:"rewards"`
}

//go:wasmexport reward
func reward() int32 {
	var b batch
	if err := pdk.InputJSON(&b); err != nil {
		pdk.SetError(err)
		return 1
	}
	bonus := 0.0
	if s, ok := pdk.GetConfig("bonus"); ok {
		bonus, _ = strconv.ParseFloat(s, 64)
	}
	calls := 0
	if v := pdk.GetVar("calls"); v != nil {
		calls, _ = strconv.Atoi(string(v))
	}
	pdk.SetVar("calls", []byte(strconv.Itoa(calls+1)))
	pdk.Log(pdk.LogInfo, "extism reward call "+strconv.Itoa(calls+1))
	res := result{Rewards: make([]*float64, len(b.Items))}
	for i, it := range b.Items {
		ans, ok := it.Metadata["answer"].(string)
		if !ok {
			if it.Completion == "fail" {
				pdk.SetErrorString("asked to fail")
				return 1
			}
			continue
		}
		v := bonus
		if strings.Contains(it.Completion, ans) {
			v++
		}
		res.Rewards[i] = &v
	}
	if err := pdk.OutputJSON(res); err != nil {
		pdk.SetError(err)
		return 1
	}
	return 0
}

func main() {}
