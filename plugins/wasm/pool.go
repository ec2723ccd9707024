package wasm

import (
	"context"
	"errors"
	"sync"
)

// worker runs calls of one plugin, one at a time: an in-process instance or a sandbox child.
type worker interface {
	call(ctx context.Context, op string, input []byte, seed int64, offset int) ([]byte, error)
	close()
}

// pool keeps up to size warm workers. A worker is created on demand, reused after a clean call
// (or a call whose plugin reported {"error"}: its state is intact), and thrown away after
// anything else, so a trap, timeout or bad output never leaks into the next batch.
type pool struct {
	newWorker func(context.Context) (worker, error)
	slots     chan struct{} // one token per worker that may run at once
	mu        sync.Mutex
	idle      []worker
	closed    bool
}

func newPool(size int, newWorker func(context.Context) (worker, error)) *pool {
	return &pool{newWorker: newWorker, slots: make(chan struct{}, size)}
}

// do runs one call on a worker from the pool.
func (p *pool) do(ctx context.Context, op string, input []byte, seed int64, offset int) ([]byte, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	w, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := w.call(ctx, op, input, seed, offset)
	p.put(w, err == nil || errors.Is(err, ErrPluginError))
	return out, err
}

func (p *pool) get(ctx context.Context) (worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	return p.newWorker(ctx)
}

func (p *pool) put(w worker, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed {
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	w.close()
}

// seed adds a worker made elsewhere (the one used to describe the plugin at open).
func (p *pool) seed(w worker) { p.put(w, true) }

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		w.close()
	}
}
