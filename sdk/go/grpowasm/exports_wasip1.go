//go:build wasip1

package grpowasm

import "unsafe"

// pinned keeps buffers handed to the host alive until it frees them (Go's GC does not move
// objects, so the address stays valid while the slice is referenced).
var pinned = map[unsafe.Pointer][]byte{}

//go:wasmexport grpo_abi_version
func exportABIVersion() int32 { return 1 }

//go:wasmexport grpo_alloc
func exportAlloc(n uint32) unsafe.Pointer {
	b := make([]byte, max(n, 1))
	p := unsafe.Pointer(unsafe.SliceData(b))
	pinned[p] = b
	return p
}

//go:wasmexport grpo_free
func exportFree(p unsafe.Pointer, n uint32) { delete(pinned, p) }

//go:wasmexport grpo_reward
func exportReward(p unsafe.Pointer, n uint32) uint64 { return pin(HandleReward(view(p, n))) }

//go:wasmexport grpo_render
func exportRender(p unsafe.Pointer, n uint32) uint64 { return pin(HandleRender(view(p, n))) }

//go:wasmexport grpo_configure
func exportConfigure(p unsafe.Pointer, n uint32) uint64 { return pin(HandleConfigure(view(p, n))) }

//go:wasmexport grpo_describe
func exportDescribe() uint64 { return pin(HandleDescribe()) }

// view is the input buffer the host wrote into memory from grpo_alloc.
func view(p unsafe.Pointer, n uint32) []byte { return unsafe.Slice((*byte)(p), n) }

// pin keeps out alive and packs its address and length as ptr<<32 | len.
func pin(out []byte) uint64 {
	if len(out) == 0 {
		return 0
	}
	p := unsafe.Pointer(unsafe.SliceData(out))
	pinned[p] = out
	return uint64(uintptr(p))<<32 | uint64(len(out))
}

//go:wasmimport grpo_host log
func grpoHostLog(level int32, p unsafe.Pointer, n uint32)

func hostLog(level Level, msg string) {
	if msg == "" {
		return
	}
	grpoHostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}
