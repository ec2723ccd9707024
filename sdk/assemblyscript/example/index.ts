// has-answer: the SDK example reward. 1 if the completion contains the row's "answer" column
// (a string), 0 if not, no score if the row has no string answer. The Go, C and Rust examples
// compute exactly the same.
import { Batch, Output, setReward } from "../assembly/grpo";
export { grpo_abi_version, grpo_alloc, grpo_free, grpo_reward, grpo_describe } from "../assembly/grpo";

function score(b: Batch): Output {
  const out = Output.forBatch(b);
  for (let i = 0; i < b.items.length; i++) {
    const ans = b.items[i].metaString("answer");
    if (ans == null) { out.noScore(i); continue; }
    out.set(i, b.items[i].completion.includes(ans) ? 1.0 : 0.0);
  }
  return out;
}

setReward(score, "has-answer", "1.0.0", "1 if the completion contains the answer column, else 0");
