package wasm

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ServeWorker is the child side of SandboxProcess: it reads an open frame, hosts the module
// in this process (one instance at a time) and answers call frames until stdin closes. The
// grpo binary runs it as the hidden subcommand WorkerSubcommand; the parent kills this process
// when a call overruns its deadline, which is what makes the deadline hard.
func ServeWorker(r io.Reader, w io.Writer, logger *slog.Logger) error {
	br, bw := bufio.NewReader(r), bufio.NewWriter(w)
	reply := func(typ byte, payload []byte) error {
		if err := writeFrame(bw, typ, payload); err != nil {
			return err
		}
		return bw.Flush()
	}
	typ, payload, err := readFrame(br)
	if err != nil {
		return fmt.Errorf("sandbox worker: reading the open frame: %w", err)
	}
	if typ != frameOpen {
		return fmt.Errorf("sandbox worker: first frame is %q, want open", typ)
	}
	var req workerOpen
	if err := json.Unmarshal(payload, &req); err != nil {
		return fmt.Errorf("sandbox worker: bad open frame: %w", err)
	}
	opts := Options{
		Timeout: time.Duration(req.TimeoutNS), MemoryLimitMB: req.MemoryLimitMB, CacheDir: req.CacheDir,
		Settings: req.Settings, MaxOutputBytes: req.MaxOutputBytes, LogBytesPerCall: req.LogBytesPerCall,
		Workers: 1, Logger: logger,
		// The parent enforces the hard deadline by killing this process; never abandon here.
		Grace: 24 * time.Hour,
	}.withDefaults().withKilledOnDeadline()
	ctx := context.Background()
	m, err := compile(ctx, req.Path, opts)
	if err != nil {
		return reply(frameError, encodeError(err))
	}
	defer m.close(ctx)
	in, info, err := m.firstInstance(ctx)
	if err != nil {
		return reply(frameError, encodeError(err))
	}
	b, _ := json.Marshal(info)
	if err := reply(frameOK, b); err != nil {
		return err
	}
	for {
		typ, payload, err := readFrame(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
		if (typ != frameReward && typ != frameRender) || len(payload) < 16 {
			return fmt.Errorf("sandbox worker: unexpected frame %q of %d bytes", typ, len(payload))
		}
		op := "reward"
		if typ == frameRender {
			op = "render"
		}
		seed := int64(binary.BigEndian.Uint64(payload[0:8]))
		offset := int(binary.BigEndian.Uint64(payload[8:16]))
		if in == nil { // the previous call broke the instance
			if in, err = m.newInstance(ctx); err != nil {
				if err := reply(frameError, encodeError(err)); err != nil {
					return err
				}
				continue
			}
		}
		out, err := in.call(ctx, op, payload[16:], seed, offset)
		if err != nil {
			if !errors.Is(err, ErrPluginError) {
				in.close()
				in = nil
			}
			if err := reply(frameError, encodeError(err)); err != nil {
				return err
			}
			continue
		}
		if err := reply(frameOK, out); err != nil {
			return err
		}
	}
}
