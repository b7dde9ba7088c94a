import { describe, expect, it } from "vitest";
import { OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, parseKeyword } from "../../src/core/opt-outs.js";

describe("opt-out keywords", () => {
  it("reads every opt-out keyword, in any case, trimmed", () => {
    for (const keyword of OPT_OUT_KEYWORDS) {
      expect(parseKeyword(keyword)).toEqual({ kind: "opt_out", keyword });
      expect(parseKeyword(`  ${keyword.toLowerCase()}\n`)).toEqual({ kind: "opt_out", keyword });
    }
    expect(OPT_OUT_KEYWORDS).toEqual(
      expect.arrayContaining(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]),
    );
    expect(parseKeyword("Stop")).toEqual({ kind: "opt_out", keyword: "STOP" });
    expect(parseKeyword("opt   Out")).toEqual({ kind: "opt_out", keyword: "OPT OUT" });
    expect(parseKeyword("\tOPT\tOUT ")).toEqual({ kind: "opt_out", keyword: "OPT OUT" });
  });

  it("reads the opt-in keywords", () => {
    expect(OPT_IN_KEYWORDS).toEqual(["START", "UNSTOP", "YES"]);
    for (const keyword of OPT_IN_KEYWORDS)
      expect(parseKeyword(` ${keyword.toLowerCase()} `)).toEqual({ kind: "opt_in", keyword });
    expect(parseKeyword("Start")).toEqual({ kind: "opt_in", keyword: "START" });
  });

  it("counts only a message that is the keyword alone", () => {
    for (const text of [
      "stop it please",
      "please stop",
      "STOP!",
      "STOP.",
      "STOPP",
      "S TOP",
      "OPT-OUT",
      "yes please",
      "start now",
      "VERIFY ACD345",
      "",
      "   ",
    ]) {
      expect(parseKeyword(text), text).toBeNull();
    }
  });
});
