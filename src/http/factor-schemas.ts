import { z } from "@hono/zod-openapi";
import { typedCode } from "./schemas.js";

/** Request and response shapes of authenticator-app (TOTP) factors and their challenges. */

const entityId = z.string().min(1).max(128).openapi({
  description: "Your id for the user the factor belongs to (opaque to verifyd).",
  example: "user_42",
});

export const CreateFactorBody = z
  .object({
    entity_id: entityId,
    label: z.string().min(1).max(64).optional().openapi({
      description: "The account name shown in the authenticator app. Defaults to entity_id.",
      example: "ada@example.com",
    }),
    digits: z
      .union([z.literal(6), z.literal(7), z.literal(8)])
      .optional()
      .openapi({ description: "Digits per code. Most apps assume 6.", example: 6 }),
    period: z
      .union([z.literal(30), z.literal(60)])
      .optional()
      .openapi({ description: "Seconds per code. Most apps assume 30.", example: 30 }),
  })
  .strict()
  .openapi("CreateFactor");

export const FactorIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "fct_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
});

export const FactorListQuery = z.object({
  entity_id: entityId.openapi({ param: { name: "entity_id", in: "query" } }),
});

export const FactorCodeBody = z
  .object({ code: typedCode.openapi({ description: "The code the authenticator app shows." }) })
  .strict()
  .openapi("VerifyFactor");

export const ChallengeBody = z
  .object({
    factor_id: z.string().min(1).max(64).optional().openapi({ example: "fct_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
    entity_id: entityId.optional(),
    code: typedCode.openapi({ description: "The code the authenticator app shows." }),
  })
  .strict()
  .refine((b) => (b.factor_id === undefined) !== (b.entity_id === undefined), {
    message: "give exactly one of factor_id and entity_id",
  })
  .openapi("Challenge", { description: "A code checked against one factor, or against every verified factor of an entity." });

const factorStatus = z.enum(["unverified", "verified"]);

export const FactorView = z
  .object({
    id: z.string(),
    entity_id: z.string(),
    label: z.string().nullable(),
    status: factorStatus,
    digits: z.number().int(),
    period: z.number().int(),
    locked_until: z.string().nullable().openapi({ description: "Set while too many wrong codes keep the factor locked." }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Factor");

export const CreatedFactorView = FactorView.extend({
  otpauth_uri: z.string().openapi({
    description: "Holds the secret. Returned only in this response: show it (or the QR code) to the user once, never store it.",
    example:
      "otpauth://totp/verifyd:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=verifyd&algorithm=SHA1&digits=6&period=30",
  }),
  qr_svg: z.string().openapi({ description: "The otpauth URI as an SVG QR code, for the user to scan." }),
}).openapi("CreatedFactor");

export const FactorList = z.object({ data: z.array(FactorView) }).openapi("FactorList");

const challengeReason = z.enum(["wrong_code", "replayed", "locked", "not_found", "not_verified", "malformed_code"]).openapi({
  description: "`malformed_code`: not the factor's number of digits once spaces and dashes are removed; it counts no attempt.",
});

export const FactorVerifyResult = z
  .object({ valid: z.boolean(), status: factorStatus.nullable(), reason: challengeReason.nullable() })
  .openapi("FactorVerifyResult");

export const ChallengeResult = z
  .object({ valid: z.boolean(), reason: challengeReason.nullable(), factor_id: z.string().nullable() })
  .openapi("ChallengeResult");
