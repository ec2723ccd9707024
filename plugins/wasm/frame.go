package wasm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The sandbox protocol between the host and a child process (SandboxProcess): frames of
// [type byte][payload length, uint32 big-endian][payload] on the child's stdin and stdout.
// The child's stderr carries its log as JSON lines (log/slog's JSONHandler).
//
//	host → child  'O' open    JSON workerOpen          child → host  'K' ok     JSON openInfo
//	host → child  'R' reward  seed, offset, batch JSON child → host  'K' ok     result JSON
//	host → child  'T' render  seed, offset, JSON       child → host  'E' error  JSON wireError
const (
	frameOpen   = 'O'
	frameReward = 'R'
	frameRender = 'T'
	frameOK     = 'K'
	frameError  = 'E'

	maxFrameBytes = 1 << 30
)

func writeFrame(w io.Writer, typ byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	hdr := make([]byte, 5, 5+n)
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(n))
	for _, p := range parts {
		hdr = append(hdr, p...)
	}
	_, err := w.Write(hdr)
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrameBytes {
		return 0, nil, fmt.Errorf("sandbox frame of %d bytes is over the %d cap", n, maxFrameBytes)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return hdr[0], buf, nil
}

// workerOpen is the open request: the plugin path and the options that matter in the child.
type workerOpen struct {
	Path            string         `json:"path"`
	TimeoutNS       int64          `json:"timeout_ns"`
	MemoryLimitMB   int            `json:"memory_limit_mb"`
	CacheDir        string         `json:"cache_dir"`
	Settings        map[string]any `json:"settings,omitempty"`
	MaxOutputBytes  int            `json:"max_output_bytes"`
	LogBytesPerCall int            `json:"log_bytes_per_call"`
}

// wireError carries an *Error across the process boundary, keeping its kind.
type wireError struct {
	Kind   string `json:"kind"`
	Op     string `json:"op"`
	Detail string `json:"detail"`
	Stderr string `json:"stderr,omitempty"`
}

var kindNames = map[string]error{
	"not_plugin": ErrNotPlugin, "abi_version": ErrABIVersion, "wrong_kind": ErrWrongKind,
	"instantiate": ErrInstantiate, "trap": ErrTrap, "memory_limit": ErrMemoryLimit,
	"timeout": ErrTimeout, "uninterruptible": ErrUninterruptible, "out_of_bounds": ErrOutOfBounds,
	"output_too_large": ErrOutputTooLarge, "bad_output": ErrBadOutput, "wrong_count": ErrWrongCount,
	"not_finite": ErrNotFinite, "plugin_error": ErrPluginError, "closed": ErrClosed,
}

func encodeError(err error) []byte {
	we := wireError{Kind: "trap", Detail: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		we.Op, we.Stderr = e.Op, e.Stderr
		we.Detail = e.Detail
		if e.Err != nil {
			we.Detail = fmt.Sprintf("%s: %v", e.Detail, e.Err)
		}
		for name, kind := range kindNames {
			if kind == e.Kind {
				we.Kind = name
			}
		}
	}
	b, _ := json.Marshal(we)
	return b
}

func decodeError(path string, payload []byte) *Error {
	var we wireError
	if err := json.Unmarshal(payload, &we); err != nil {
		return pluginErr(path, "sandbox", ErrTrap, err, "unreadable error from the sandbox process")
	}
	kind, ok := kindNames[we.Kind]
	if !ok {
		kind = ErrTrap
	}
	return &Error{Plugin: path, Op: we.Op, Kind: kind, Detail: we.Detail, Stderr: we.Stderr}
}
