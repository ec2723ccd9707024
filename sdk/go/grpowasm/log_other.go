//go:build !wasip1

package grpowasm

import (
	"fmt"
	"os"
)

// hostLog, outside WASM (unit tests of a plugin's logic), writes to stderr.
func hostLog(level Level, msg string) {
	fmt.Fprintf(os.Stderr, "grpowasm log level=%d: %s\n", level, msg)
}
