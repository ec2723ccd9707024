// kerneltrace: a CUDA injection library that records every kernel a process runs (name, start,
// end in ns) through CUPTI's activity API, for processes that no profiler front end can drive
// (Nsight Compute stalls on the XLA PJRT plugin's autotuning; Nsight Systems is not installed on
// the GPU machine). The CUDA driver loads it when CUDA_INJECTION64_PATH names it, and calls
// InitializeInjection at cuInit.
//
// Records go to $KERNELTRACE_OUT (TSV: start_ns, end_ns, name) as CUPTI hands buffers back; a
// background thread flushes once a second, because Go programs exit without running atexit
// handlers (the last second of a run can be lost: keep the region of interest away from the end).
//
// Build on the GPU machine (scripts/gpu/sampler_trace.sh does it):
//   gcc -O2 -shared -fPIC -I$CUPTI/include kerneltrace.c -L$CUPTI/lib64 -lcupti -lpthread -o kerneltrace.so
#include <cupti.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef KREC
#define KREC CUpti_ActivityKernel9
#endif

static FILE *out;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(call)                                                               \
  do {                                                                            \
    CUptiResult r_ = (call);                                                      \
    if (r_ != CUPTI_SUCCESS) {                                                    \
      const char *s_;                                                             \
      cuptiGetResultString(r_, &s_);                                              \
      fprintf(stderr, "kerneltrace: %s failed: %s\n", #call, s_);                 \
      return 0;                                                                   \
    }                                                                             \
  } while (0)

static void CUPTIAPI requested(uint8_t **buf, size_t *size, size_t *max) {
  *size = 8 << 20;
  *buf = aligned_alloc(8, *size);
  *max = 0;
}

static void CUPTIAPI completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size, size_t valid) {
  CUpti_Activity *rec = NULL;
  pthread_mutex_lock(&mu);
  while (cuptiActivityGetNextRecord(buf, valid, &rec) == CUPTI_SUCCESS) {
    if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
      KREC *k = (KREC *)rec;
      fprintf(out, "%llu\t%llu\t%s\n", (unsigned long long)k->start, (unsigned long long)k->end, k->name);
    } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
      CUpti_ActivityMemcpy6 *m = (CUpti_ActivityMemcpy6 *)rec;
      fprintf(out, "%llu\t%llu\tmemcpy(kind %d, %llu bytes)\n", (unsigned long long)m->start,
              (unsigned long long)m->end, m->copyKind, (unsigned long long)m->bytes);
    }
  }
  size_t dropped = 0;
  cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped);
  if (dropped) fprintf(out, "0\t0\tDROPPED %zu records\n", dropped);
  fflush(out);
  pthread_mutex_unlock(&mu);
  free(buf);
}

static void *flusher(void *arg) {
  (void)arg;
  for (;;) {
    sleep(1);
    cuptiActivityFlushAll(0);
  }
  return NULL;
}

int InitializeInjection(void) {
  const char *path = getenv("KERNELTRACE_OUT");
  out = fopen(path ? path : "kerneltrace.tsv", "w");
  if (!out) {
    perror("kerneltrace: open output");
    return 0;
  }
  CHECK(cuptiActivityRegisterCallbacks(requested, completed));
  CHECK(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  CHECK(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY));
  pthread_t t;
  pthread_create(&t, NULL, flusher, NULL);
  pthread_detach(t);
  fprintf(stderr, "kerneltrace: recording kernels to %s\n", path ? path : "kerneltrace.tsv");
  return 1;
}
