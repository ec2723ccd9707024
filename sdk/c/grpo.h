/* grpo.h: write grpo reward plugins in C (grpo-wasm ABI v1, see sdk/ABI.md).
 *
 * Header-only. C has no standard JSON library, so this header carries a small reader for the
 * batch message and a writer for the result (the only JSON a plugin needs); everything else is
 * the ABI's memory handling. Build with clang + wasi-libc:
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -Wl,--strip-all -I path/to/sdk/c -o reward.wasm reward.c
 *
 * A plugin defines its scoring function and names it with GRPO_REWARD:
 *
 *   #include "grpo.h"
 *   static void score(const grpo_batch *b, grpo_result *r) {
 *     for (size_t i = 0; i < b->n_items; i++) {
 *       grpo_str ans;
 *       if (!grpo_meta_string(&b->items[i], "answer", &ans)) { grpo_no_score(r, i); continue; }
 *       grpo_set_reward(r, i, grpo_contains(b->items[i].completion, ans) ? 1.0 : 0.0);
 *     }
 *   }
 *   GRPO_REWARD(score, "has-answer", "1.0.0", "1 if the completion contains the answer")
 */
#ifndef GRPO_H
#define GRPO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRPO_ABI_VERSION 1

/* A string: UTF-8 bytes, not NUL-terminated (JSON strings may contain NUL). */
typedef struct { const char *ptr; size_t len; } grpo_str;

/* One item of the batch. metadata is the raw JSON object of the row's other columns. */
typedef struct {
  grpo_str prompt, completion;
  const char *metadata; size_t metadata_len;
} grpo_item;

typedef struct {
  int64_t seed;   /* the same batch and seed must give the same rewards */
  int64_t offset; /* index of items[0] in the caller's batch: per-item randomness from (seed, offset+i) */
  size_t n_items;
  grpo_item *items;
} grpo_batch;

/* The result being built: one reward or "no score" per item, or an error. */
typedef struct {
  size_t n;
  double *values;
  unsigned char *has; /* 0 = no score (null) */
  char *error;
} grpo_result;

static inline void grpo_set_reward(grpo_result *r, size_t i, double v) { if (i < r->n) { r->values[i] = v; r->has[i] = 1; } }
static inline void grpo_no_score(grpo_result *r, size_t i) { if (i < r->n) r->has[i] = 0; }
/* grpo_fail makes the whole batch fail with msg (the host reports it naming the plugin). */
static inline void grpo_fail(grpo_result *r, const char *msg) { free(r->error); r->error = strdup(msg); }

/* grpo_contains reports whether needle occurs in hay (byte-wise). */
static inline int grpo_contains(grpo_str hay, grpo_str needle) {
  if (needle.len == 0) return 1;
  for (size_t i = 0; i + needle.len <= hay.len; i++)
    if (memcmp(hay.ptr + i, needle.ptr, needle.len) == 0) return 1;
  return 0;
}

/* ---- JSON reading (internal) ---- */

typedef struct { const char *p, *end; int ok; } grpo__cur;

static void grpo__ws(grpo__cur *c) { while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++; }
static int grpo__eat(grpo__cur *c, char ch) { grpo__ws(c); if (c->p < c->end && *c->p == ch) { c->p++; return 1; } return 0; }

static int grpo__hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char h = p[i]; v <<= 4;
    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
    else return 0;
  }
  *out = v; return 1;
}

static char *grpo__utf8(char *o, unsigned cp) {
  if (cp < 0x80) *o++ = (char)cp;
  else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) { *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
  else { *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
  return o;
}

/* grpo__string reads a JSON string at the cursor; with out != NULL it decodes it into a malloc'd
 * buffer (escapes resolved, \uXXXX surrogate pairs joined, lone surrogates → U+FFFD). */
static int grpo__string(grpo__cur *c, grpo_str *out) {
  grpo__ws(c);
  if (c->p >= c->end || *c->p != '"') return 0;
  const char *s = ++c->p;
  while (c->p < c->end && *c->p != '"') { if (*c->p == '\\') c->p++; c->p++; }
  if (c->p >= c->end) return 0;
  const char *e = c->p++;
  if (!out) return 1;
  char *buf = (char *)malloc((size_t)(e - s) + 1), *o = buf;
  for (const char *q = s; q < e; q++) {
    if (*q != '\\') { *o++ = *q; continue; }
    switch (*++q) {
      case 'n': *o++ = '\n'; break; case 't': *o++ = '\t'; break; case 'r': *o++ = '\r'; break;
      case 'b': *o++ = '\b'; break; case 'f': *o++ = '\f'; break;
      case 'u': {
        unsigned cp, lo;
        if (e - q < 5 || !grpo__hex4(q + 1, &cp)) { free(buf); return 0; }
        q += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && e - q >= 7 && q[1] == '\\' && q[2] == 'u' && grpo__hex4(q + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); q += 6;
        } else if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
        o = grpo__utf8(o, cp); break;
      }
      default: *o++ = *q; /* \" \\ \/ */
    }
  }
  out->ptr = buf; out->len = (size_t)(o - buf);
  return 1;
}

/* grpo__skip skips one JSON value of any kind. */
static int grpo__skip(grpo__cur *c) {
  grpo__ws(c);
  if (c->p >= c->end) return 0;
  char ch = *c->p;
  if (ch == '"') return grpo__string(c, NULL);
  if (ch == '{' || ch == '[') {
    char close = ch == '{' ? '}' : ']';
    c->p++;
    if (grpo__eat(c, close)) return 1;
    do {
      if (ch == '{') { if (!grpo__string(c, NULL) || !grpo__eat(c, ':')) return 0; }
      if (!grpo__skip(c)) return 0;
    } while (grpo__eat(c, ','));
    return grpo__eat(c, close);
  }
  const char *s = c->p;
  while (c->p < c->end && (strchr("+-.eE", *c->p) || (*c->p >= '0' && *c->p <= '9') || (*c->p >= 'a' && *c->p <= 'z'))) c->p++;
  return c->p > s;
}

/* grpo__find positions the cursor on the value of key in the object at the cursor. */
static int grpo__find(grpo__cur *c, const char *key) {
  size_t klen = strlen(key);
  if (!grpo__eat(c, '{')) return 0;
  if (grpo__eat(c, '}')) return 0;
  do {
    grpo_str k;
    if (!grpo__string(c, &k)) return 0;
    int hit = k.len == klen && memcmp(k.ptr, key, klen) == 0;
    free((void *)k.ptr);
    if (!grpo__eat(c, ':')) return 0;
    if (hit) { grpo__ws(c); return 1; }
    if (!grpo__skip(c)) return 0;
  } while (grpo__eat(c, ','));
  return 0;
}

/* grpo_meta_string: the metadata column key as a string (1), or 0 if absent or not a string.
 * The string stays valid until the batch is freed (after the call). */
static int grpo_meta_string(const grpo_item *it, const char *key, grpo_str *out) {
  grpo__cur c = {it->metadata, it->metadata + it->metadata_len, 1};
  return it->metadata && grpo__find(&c, key) && grpo__string(&c, out);
}

/* grpo_meta_number: the metadata column key as a number (1), or 0 if absent or not a number. */
static int grpo_meta_number(const grpo_item *it, const char *key, double *out) {
  grpo__cur c = {it->metadata, it->metadata + it->metadata_len, 1};
  if (!it->metadata || !grpo__find(&c, key)) return 0;
  char *end;
  *out = strtod(c.p, &end);
  return end > c.p;
}

static int grpo__item(grpo__cur *c, grpo_item *it) {
  memset(it, 0, sizeof *it);
  if (!grpo__eat(c, '{')) return 0;
  if (grpo__eat(c, '}')) return 1;
  do {
    grpo_str k;
    if (!grpo__string(c, &k) || !grpo__eat(c, ':')) return 0;
    int ok = 1;
    if (k.len == 6 && !memcmp(k.ptr, "prompt", 6)) ok = grpo__string(c, &it->prompt);
    else if (k.len == 10 && !memcmp(k.ptr, "completion", 10)) ok = grpo__string(c, &it->completion);
    else if (k.len == 8 && !memcmp(k.ptr, "metadata", 8)) {
      grpo__ws(c); const char *s = c->p; ok = grpo__skip(c);
      it->metadata = s; it->metadata_len = (size_t)(c->p - s);
    } else ok = grpo__skip(c);
    free((void *)k.ptr);
    if (!ok) return 0;
  } while (grpo__eat(c, ','));
  return grpo__eat(c, '}');
}

/* grpo_parse_batch parses the batch message; 0 on malformed input. */
static int grpo_parse_batch(const char *json, size_t len, grpo_batch *b) {
  grpo__cur c = {json, json + len, 1};
  size_t cap = 0;
  memset(b, 0, sizeof *b);
  if (!grpo__eat(&c, '{')) return 0;
  if (grpo__eat(&c, '}')) return 1;
  do {
    grpo_str k;
    if (!grpo__string(&c, &k) || !grpo__eat(&c, ':')) return 0;
    int ok = 1;
    if (k.len == 5 && !memcmp(k.ptr, "items", 5)) {
      if (!grpo__eat(&c, '[')) ok = 0;
      else if (!grpo__eat(&c, ']')) {
        do {
          if (b->n_items == cap) { cap = cap ? 2 * cap : 16; b->items = (grpo_item *)realloc(b->items, cap * sizeof *b->items); }
          if (!grpo__item(&c, &b->items[b->n_items])) { ok = 0; break; }
          b->n_items++;
        } while (grpo__eat(&c, ','));
        ok = ok && grpo__eat(&c, ']');
      }
    } else if ((k.len == 4 && !memcmp(k.ptr, "seed", 4)) || (k.len == 6 && !memcmp(k.ptr, "offset", 6))) {
      grpo__ws(&c);
      char *end; long long v = strtoll(c.p, &end, 10);
      ok = end > c.p; c.p = end;
      if (k.len == 4) b->seed = v; else b->offset = v;
    } else ok = grpo__skip(&c);
    free((void *)k.ptr);
    if (!ok) return 0;
  } while (grpo__eat(&c, ','));
  return grpo__eat(&c, '}');
}

static void grpo_free_batch(grpo_batch *b) {
  for (size_t i = 0; i < b->n_items; i++) { free((void *)b->items[i].prompt.ptr); free((void *)b->items[i].completion.ptr); }
  free(b->items);
}

/* ---- JSON writing and the ABI exports (internal) ---- */

typedef struct { char *p; size_t len, cap; } grpo__buf;

static void grpo__put(grpo__buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) { b->cap = (b->len + n + 1) * 2; b->p = (char *)realloc(b->p, b->cap); }
  memcpy(b->p + b->len, s, n); b->len += n;
}
static void grpo__puts(grpo__buf *b, const char *s) { grpo__put(b, s, strlen(s)); }
static void grpo__quote(grpo__buf *b, const char *s) {
  grpo__put(b, "\"", 1);
  for (; *s; s++) {
    char esc[8];
    if (*s == '"' || *s == '\\') { esc[0] = '\\'; esc[1] = *s; grpo__put(b, esc, 2); }
    else if ((unsigned char)*s < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *s); grpo__puts(b, esc); }
    else grpo__put(b, s, 1);
  }
  grpo__put(b, "\"", 1);
}

/* grpo__pack hands a buffer to the host as ptr<<32 | len (the host frees it with grpo_free). */
static uint64_t grpo__pack(grpo__buf *b) { return ((uint64_t)(uintptr_t)b->p << 32) | (uint64_t)b->len; }

static uint64_t grpo__describe(const char *name, const char *version, const char *desc) {
  grpo__buf b = {0};
  grpo__puts(&b, "{\"name\":"); grpo__quote(&b, name);
  grpo__puts(&b, ",\"version\":"); grpo__quote(&b, version);
  grpo__puts(&b, ",\"kind\":\"reward\",\"description\":"); grpo__quote(&b, desc);
  grpo__puts(&b, "}");
  return grpo__pack(&b);
}

static uint64_t grpo__reward(const char *in, size_t len, void (*fn)(const grpo_batch *, grpo_result *)) {
  grpo_batch batch;
  grpo__buf out = {0};
  if (!grpo_parse_batch(in, len, &batch)) {
    grpo_free_batch(&batch);
    grpo__puts(&out, "{\"error\":\"malformed batch JSON\"}");
    return grpo__pack(&out);
  }
  grpo_result r = {batch.n_items, (double *)calloc(batch.n_items + 1, sizeof(double)), (unsigned char *)calloc(batch.n_items + 1, 1), NULL};
  fn(&batch, &r);
  if (r.error) {
    grpo__puts(&out, "{\"error\":"); grpo__quote(&out, r.error); grpo__puts(&out, "}");
  } else {
    grpo__puts(&out, "{\"rewards\":[");
    for (size_t i = 0; i < r.n; i++) {
      char num[32];
      if (i) grpo__put(&out, ",", 1);
      if (!r.has[i] || r.values[i] != r.values[i] || r.values[i] - r.values[i] != 0) grpo__puts(&out, "null"); /* NaN/Inf → no score */
      else { snprintf(num, sizeof num, "%.17g", r.values[i]); grpo__puts(&out, num); }
    }
    grpo__puts(&out, "]}");
  }
  free(r.values); free(r.has); free(r.error);
  grpo_free_batch(&batch);
  return grpo__pack(&out);
}

/* GRPO_REWARD defines the ABI exports around fn: void fn(const grpo_batch *, grpo_result *). */
#define GRPO_REWARD(fn, name, version, description)                                                        \
  __attribute__((export_name("grpo_abi_version"))) int32_t grpo_abi_version(void) { return GRPO_ABI_VERSION; } \
  __attribute__((export_name("grpo_alloc"))) void *grpo_alloc(int32_t n) { return malloc(n > 0 ? (size_t)n : 1); } \
  __attribute__((export_name("grpo_free"))) void grpo_free(void *p, int32_t n) { (void)n; free(p); }        \
  __attribute__((export_name("grpo_describe"))) uint64_t grpo_describe(void) { return grpo__describe(name, version, description); } \
  __attribute__((export_name("grpo_reward"))) uint64_t grpo_reward(const char *in, int32_t n) { return grpo__reward(in, (size_t)n, fn); }

#endif /* GRPO_H */
