// An Extism AssemblyScript-PDK reward (@extism/as-pdk 1.0.0), for the Extism adapter's test: it
// finds each item's completion in the batch JSON by hand (the PDK has no JSON reader) and gives
// 1 if it contains the config value "needle", else 0; "fail" fails the batch (non-zero return).
import { Host, Config, LogLevel } from "@extism/as-pdk";

function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {}

export function reward(): i32 {
  const input = Host.inputString();
  const needle = Config.get("needle");
  const key = "\"completion\":\"";
  let out = "{\"rewards\":[";
  let n = 0;
  let pos = input.indexOf(key);
  while (pos >= 0) {
    const start = pos + key.length;
    const end = input.indexOf("\"", start);
    const c = input.substring(start, end);
    if (c == "fail") return 1; // as-pdk 1.0.0 has no error_set wrapper: a bare failure
    if (n > 0) out += ",";
    out += needle != null && c.includes(needle) ? "1" : "0";
    n++;
    pos = input.indexOf(key, end);
  }
  Host.outputString(out + "]}");
  Host.log(LogLevel.Info, "as-pdk scored " + n.toString());
  return 0;
}
