//! has-answer: the SDK example reward. 1 if the completion contains the row's "answer" column
//! (a string), 0 if not, no score if the row has no string answer. The Go, C and
//! AssemblyScript examples compute exactly the same.
use grpo_sdk::{Batch, Output};

fn score(b: &Batch) -> Output {
    Output::rewards(
        b.items
            .iter()
            .map(|it| it.meta_str("answer").map(|a| if it.completion.contains(a) { 1.0 } else { 0.0 }))
            .collect(),
    )
}

grpo_sdk::reward_plugin!(score, name = "has-answer", version = "1.0.0",
    description = "1 if the completion contains the answer column, else 0");
