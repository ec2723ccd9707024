#!/usr/bin/env python3
"""The strings grpo's tokenizer is checked on against Hugging Face `tokenizers`.

Deterministic (seeded) so the fixture can be regenerated. Categories: whitespace runs, digits,
CJK, emoji, code, chat special tokens, contractions, NFC/NFD cases, LaTeX, mixed random text,
and invalid UTF-8 byte strings (returned as bytes).
"""
import random

CURATED = [
    "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a  b", "a    b", "a\t\tb", "  leading",
    "trailing   ", "mid   dle  spaces\t\n", "\u00a0nbsp\u00a0", "\u3000ideographic space",
    "Hello, my dog is cute", "Hello world!", "HELLO WORLD", "hello   world  ", "  hello\n\nworld",
    "12345678901234567890", "3.14159265358979", "1,234,567.89", "-42", "+7", "2024-01-31",
    "0.000001", "1e-10", "x1y22z333", "phone: 555-0123", "99 bottles", "١٢٣ ٤٥٦", "१२३",
    "你好，世界！", "我爱自然语言处理。", "日本語のテキストです。", "カタカナとひらがな",
    "한국어 문장입니다.", "混合English和中文123", "中文 空格 测试",
    "👍", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵🇺🇸", "I ❤️ NY", "emoji🙂inline😀text", "✨🚀🔥",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "func main() {\n\tfmt.Println(\"hi\")\n}\n", "SELECT * FROM t WHERE id = 1;",
    "<div class=\"a\">text</div>", "{\"key\": [1, 2, 3], \"ok\": true}", "a && b || !c",
    "x += 1; y -= 2; z *= 3;", "    indented\n        more\n", "#include <stdio.h>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>", "text<|endoftext|>more", "<think>\nreasoning\n</think>\n\nanswer",
    "<|im_start|>", "<|im_end|>", "<|im_start|><|im_end|>", "<|begin_of_text|>hi<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>",
    "I'm", "don't", "it's", "we'll", "they've", "you're", "he'd", "I'M", "DON'T", "IT'S",
    "WE'LL", "'s", "''", "rock'n'roll", "o'clock", "'tis",
    "caf\u00e9", "cafe\u0301", "e\u0301e\u0301", "A\u030a", "\u212b", "\u1e9b\u0323",
    "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "\ufeffbom",
    "\\frac{1}{2}", "$x^2 + y^2 = z^2$", "\\boxed{42}", "The answer is \\boxed{\\dfrac{3}{4}}.",
    "\\sqrt{2} \\approx 1.414", "a_{i,j} = b^{k}", "∑_{i=1}^{n} i = n(n+1)/2", "∀x∈ℝ: x²≥0",
    "Ελληνικά κείμενο", "Русский текст", "עברית", "العربية", "ไทย", "हिन्दी", "ქართული",
    "Tiếng Việt có dấu", "Ünïcödé Äöü ß", "ÀÉÎÕÜ àéîõü", "Ǆǅǆ",
    "...", "?!?!", "---", "___", "***bold***", "~~strike~~", "`code`", "```python\nx=1\n```",
    "http://example.com/path?q=1&r=2", "user@example.com", "C:\\Users\\name\\file.txt",
    "\x00", "\x01\x02", "\u200b", "a\u200db", "\u2028\u2029",
]

POOLS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digits": "0123456789",
    "space": " \t\n\r  \u00a0",
    "punct": ".,;:!?'\"()[]{}<>-_+=*/\\|@#$%^&~`",
    "latin": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明",
    "kana": "あいうえおかきくけこアイウエオカキクケコ",
    "hangul": "가나다라마바사아자차카타파하",
    "emoji": "😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗🙂🤗🤩🤔🤨😐👍👎👏🙏💪🔥✨🎉❤️💯",
    "math": "∑∫∂∇√∞≈≠≤≥±×÷∈∉⊂⊃∪∩",
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"],
}


def random_string(rng):
    n = rng.randint(1, 60)
    weights = list(POOLS.keys())
    out = []
    style = rng.choice(weights)
    for _ in range(n):
        pool = style if rng.random() < 0.6 else rng.choice(weights)
        p = POOLS[pool]
        if pool == "special":
            if rng.random() < 0.3:
                out.append(rng.choice(p))
        else:
            out.append(rng.choice(p))
    return "".join(out)


def random_words(rng):
    words = ["the", "cat", "sat", "on", "mat", "GRPO", "reward", "model", "token", "Hello",
             "world", "answer", "is", "42", "3.5", "x", "+", "=", "\\boxed{7}", "你好", "🙂",
             "don't", "it's", "  ", "\n", "\t", "...", "(a+b)", "$", "%", "1000000"]
    return rng.choice(["", " "]) + "".join(
        rng.choice(words) + rng.choice([" ", " ", " ", "", "  ", "\n", ", ", ". "])
        for _ in range(rng.randint(1, 25)))


def invalid_utf8(rng):
    bad = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xed\xa0\x80",
           b"\xf4\x90\x80\x80", b"\xc3", b"\xe0\x80\x80"]
    out = []
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                parts.append(rng.choice(bad))
            else:
                parts.append(random_words(rng).encode("utf-8")[: rng.randint(1, 12)])
        out.append(b"".join(parts))
    return out


def strings():
    rng = random.Random(20261125)
    texts = list(CURATED)
    texts += [random_string(rng) for _ in range(1700)]
    texts += [random_words(rng) for _ in range(800)]
    texts += [" " * rng.randint(1, 20) + random_words(rng) + " " * rng.randint(0, 5) for _ in range(60)]
    seen, uniq = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    return uniq, invalid_utf8(rng)


if __name__ == "__main__":
    t, b = strings()
    print(len(t), "texts,", len(b), "invalid byte strings")
