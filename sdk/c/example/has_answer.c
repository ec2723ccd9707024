/* has-answer: the SDK example reward. 1 if the completion contains the row's "answer" column
 * (a string), 0 if not, no score if the row has no string answer. The Go, Rust and
 * AssemblyScript examples compute exactly the same. */
#include "grpo.h"

static void score(const grpo_batch *b, grpo_result *r) {
  for (size_t i = 0; i < b->n_items; i++) {
    grpo_str ans;
    if (!grpo_meta_string(&b->items[i], "answer", &ans)) {
      grpo_no_score(r, i);
      continue;
    }
    grpo_set_reward(r, i, grpo_contains(b->items[i].completion, ans) ? 1.0 : 0.0);
    free((void *)ans.ptr);
  }
}

GRPO_REWARD(score, "has-answer", "1.0.0", "1 if the completion contains the answer column, else 0")
