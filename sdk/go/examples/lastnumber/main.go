// Command lastnumber is an example grpo reward written as a Go process plugin: 1 when the
// completion's last number equals the row's answer, else 0 (see package grade for the exact rule).
//
//	go build -o lastnumber ./sdk/go/examples/lastnumber
//	grpo reward --plugin ./lastnumber --data rows.jsonl
package main

import (
	"context"

	"github.com/grpo-dev/grpo/sdk/go/examples/lastnumber/grade"
	"github.com/grpo-dev/grpo/sdk/go/grpoproc"
	"github.com/grpo-dev/grpo/sdk/wire"
)

func main() {
	column := grade.DefaultAnswerColumn
	grpoproc.ServeReward(
		func(_ context.Context, b wire.Batch) (wire.Result, error) {
			return grade.Score(b, column), nil
		},
		grpoproc.WithDescribe(wire.Describe{
			Name:        "lastnumber",
			Version:     "1.0.0",
			Description: "1 if the completion's last number equals the row's answer column, else 0",
		}),
		grpoproc.WithConfigure(func(settings map[string]any) (err error) {
			column, err = grade.Column(settings)
			return err
		}),
	)
}
