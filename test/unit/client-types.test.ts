import type { z } from "@hono/zod-openapi";
import type * as Client from "@verifyd/client";
import { describe, expectTypeOf, it } from "vitest";
import type { ErrorCode } from "../../src/core/errors.js";
import type { CheckBody, CheckByToBody, CheckResult, StartBody, VerificationView } from "../../src/http/schemas.js";

/**
 * @verifyd/client writes its types by hand (it has no dependencies); they must be the server's own.
 * The compiler checks this file (`npm run typecheck`): a schema change that the client's types do
 * not follow fails there, naming the type.
 */
describe("the client's types", () => {
  it("are the server's schemas", () => {
    expectTypeOf<Client.StartInput>().toEqualTypeOf<z.input<typeof StartBody>>();
    expectTypeOf<Client.CheckBody>().toEqualTypeOf<z.input<typeof CheckBody>>();
    expectTypeOf<Client.CheckByToBody>().toEqualTypeOf<z.input<typeof CheckByToBody>>();
    expectTypeOf<Client.Verification>().toEqualTypeOf<z.output<typeof VerificationView>>();
    expectTypeOf<Client.CheckOutcome>().toEqualTypeOf<z.output<typeof CheckResult>>();
    expectTypeOf<Client.ErrorCode>().toEqualTypeOf<ErrorCode>();
  });
});
