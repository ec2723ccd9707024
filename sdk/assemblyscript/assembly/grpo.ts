// grpo SDK for AssemblyScript: write grpo reward plugins (grpo-wasm ABI v1, sdk/ABI.md).
//
// AssemblyScript has no JSON in its standard library, and the JSON packages on npm need
// compiler transforms pinned to compiler versions, so this file carries a small JSON reader
// (the batch) and writer (the result). The entry file registers the scoring function and
// re-exports the ABI functions:
//
//   import { Batch, Output, setReward } from "../../assembly/grpo";
//   export { grpo_abi_version, grpo_alloc, grpo_free, grpo_reward, grpo_describe } from "../../assembly/grpo";
//   function score(b: Batch): Output { ... }
//   setReward(score, "has-answer", "1.0.0", "description");
//
// Build: asc index.ts -O3 --runtime incremental --noAssert -o plugin.wasm (imports env.abort,
// which the grpo host provides).

export const ABI_VERSION: i32 = 1;

// ---- JSON values ----

export enum Kind { Null, Bool, Number, String, Array, Object }

export class Value {
  kind: Kind = Kind.Null;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  arr: Value[] = [];
  keys: string[] = [];
  vals: Value[] = [];

  get(key: string): Value | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.vals[i];
    return null;
  }
}

class Reader {
  pos: i32 = 0;
  ok: bool = true;
  constructor(public src: string) {}

  ws(): void {
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.pos++;
    }
  }

  value(): Value {
    this.ws();
    const v = new Value();
    if (this.pos >= this.src.length) { this.ok = false; return v; }
    const c = this.src.charCodeAt(this.pos);
    if (c == 34) { v.kind = Kind.String; v.s = this.str(); }
    else if (c == 123) {
      v.kind = Kind.Object; this.pos++; this.ws();
      if (this.peek() == 125) { this.pos++; return v; }
      while (this.ok) {
        this.ws(); v.keys.push(this.str()); this.ws();
        if (this.peek() != 58) { this.ok = false; break; }
        this.pos++; v.vals.push(this.value()); this.ws();
        const d = this.peek(); this.pos++;
        if (d == 125) break;
        if (d != 44) this.ok = false;
      }
    } else if (c == 91) {
      v.kind = Kind.Array; this.pos++; this.ws();
      if (this.peek() == 93) { this.pos++; return v; }
      while (this.ok) {
        v.arr.push(this.value()); this.ws();
        const d = this.peek(); this.pos++;
        if (d == 93) break;
        if (d != 44) this.ok = false;
      }
    } else if (this.src.startsWith("true", this.pos)) { v.kind = Kind.Bool; v.b = true; this.pos += 4; }
    else if (this.src.startsWith("false", this.pos)) { v.kind = Kind.Bool; this.pos += 5; }
    else if (this.src.startsWith("null", this.pos)) { this.pos += 4; }
    else {
      const start = this.pos;
      while (this.pos < this.src.length) {
        const d = this.src.charCodeAt(this.pos);
        if (!((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69)) break;
        this.pos++;
      }
      if (this.pos == start) { this.ok = false; return v; }
      v.kind = Kind.Number; v.n = parseFloat(this.src.substring(start, this.pos));
    }
    return v;
  }

  peek(): i32 { return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : -1; }

  // str reads a JSON string; AssemblyScript strings are UTF-16, like JSON's \u escapes.
  str(): string {
    if (this.peek() != 34) { this.ok = false; return ""; }
    this.pos++;
    let out = "";
    let start = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c == 34) { out += this.src.substring(start, this.pos); this.pos++; return out; }
      if (c == 92) {
        out += this.src.substring(start, this.pos);
        const e = this.src.charCodeAt(this.pos + 1);
        this.pos += 2;
        if (e == 110) out += "\n"; else if (e == 116) out += "\t"; else if (e == 114) out += "\r";
        else if (e == 98) out += "\b"; else if (e == 102) out += "\f";
        else if (e == 117) { out += String.fromCharCode(<i32>parseInt(this.src.substring(this.pos, this.pos + 4), 16)); this.pos += 4; }
        else out += String.fromCharCode(e);
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    this.ok = false;
    return out;
  }
}

/** parse parses JSON text; null if malformed. */
export function parse(text: string): Value | null {
  const r = new Reader(text);
  const v = r.value();
  r.ws();
  return r.ok && r.pos == text.length ? v : null;
}

/** quote renders s as a JSON string. */
export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c < 32) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

// ---- The batch and the result ----

export class Item {
  prompt: string = "";
  completion: string = "";
  metadata: Value = new Value();

  /** metaString returns the metadata column key if it is a string, else null. */
  metaString(key: string): string | null {
    const v = this.metadata.get(key);
    return v != null && v.kind == Kind.String ? v.s : null;
  }
}

export class Batch {
  seed: i64 = 0;
  offset: i64 = 0;
  items: Item[] = [];
}

export class Output {
  values: f64[] = [];
  has: bool[] = [];
  error: string = "";

  static forBatch(b: Batch): Output {
    const o = new Output();
    for (let i = 0; i < b.items.length; i++) { o.values.push(0); o.has.push(false); }
    return o;
  }
  /** set gives item i a reward. */
  set(i: i32, v: f64): void { this.values[i] = v; this.has[i] = isFinite(v); }
  /** noScore leaves item i without a score (null). */
  noScore(i: i32): void { this.has[i] = false; }
  /** fail makes the whole batch fail with msg. */
  fail(msg: string): void { this.error = msg; }

  json(): string {
    if (this.error.length > 0) return "{\"error\":" + quote(this.error) + "}";
    let s = "{\"rewards\":[";
    for (let i = 0; i < this.values.length; i++) {
      if (i > 0) s += ",";
      s += this.has[i] ? this.values[i].toString() : "null";
    }
    return s + "]}";
  }
}

function batchFrom(v: Value): Batch | null {
  const b = new Batch();
  if (v.kind != Kind.Object) return null;
  const seed = v.get("seed");
  if (seed != null) b.seed = <i64>seed.n;
  const offset = v.get("offset");
  if (offset != null) b.offset = <i64>offset.n;
  const items = v.get("items");
  if (items == null || items.kind != Kind.Array) return b;
  for (let i = 0; i < items.arr.length; i++) {
    const iv = items.arr[i];
    const it = new Item();
    const p = iv.get("prompt"); if (p != null) it.prompt = p.s;
    const c = iv.get("completion"); if (c != null) it.completion = c.s;
    const m = iv.get("metadata"); if (m != null) it.metadata = m;
    b.items.push(it);
  }
  return b;
}

// ---- Registration and the ABI exports ----

let rewardFn: ((b: Batch) => Output) | null = null;
let describeJSON: string = "{\"kind\":\"reward\"}";

/** setReward registers the scoring function and what grpo_describe reports. */
export function setReward(f: (b: Batch) => Output, name: string, version: string, description: string): void {
  rewardFn = f;
  describeJSON = "{\"name\":" + quote(name) + ",\"version\":" + quote(version) +
    ",\"kind\":\"reward\",\"description\":" + quote(description) + "}";
}

// pack copies s (UTF-8) into unmanaged memory the host frees with grpo_free: ptr<<32 | len.
function pack(s: string): u64 {
  const buf = String.UTF8.encode(s);
  const n = buf.byteLength;
  const p = heap.alloc(max(n, 1));
  memory.copy(p, changetype<usize>(buf), n);
  return (<u64>p << 32) | <u64>n;
}

export function grpo_abi_version(): i32 { return ABI_VERSION; }
export function grpo_alloc(n: i32): usize { return heap.alloc(<usize>max(n, 1)); }
export function grpo_free(p: usize, n: i32): void { heap.free(p); }
export function grpo_describe(): u64 { return pack(describeJSON); }

export function grpo_reward(p: usize, n: i32): u64 {
  const f = rewardFn;
  if (f == null) return pack("{\"error\":\"no reward function registered (call setReward)\"}");
  const v = parse(String.UTF8.decodeUnsafe(p, <usize>n));
  if (v == null) return pack("{\"error\":\"malformed batch JSON\"}");
  const b = batchFrom(v);
  if (b == null) return pack("{\"error\":\"the batch is not a JSON object\"}");
  return pack(f(b).json());
}
